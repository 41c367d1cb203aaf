from django.apps import AppConfig


class PromadapterConfig(AppConfig):
    name = "promadapter"
    verbose_name = "Prometheus adapter"
