"""The electricity grid's carbon intensity per UTC hour, imported by finance or ops
(`import_grid_intensity`); hours without a row take KUBEMON_GRID_GCO2_PER_KWH
(billing/ledger/carbon.py)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# Above any grid's average (coal plants emit about 1000 g/kWh): a larger figure is a typo
# or a unit error (kg, or per MWh).
MAX_GCO2_PER_KWH = 2000


class GridIntensity(models.Model):
    """Grams of CO2-eq per kWh of the grid in the UTC hour [hour, hour + 1 h)."""

    hour = models.DateTimeField(unique=True)
    gco2_per_kwh = models.FloatField(
        validators=[MinValueValidator(0), MaxValueValidator(MAX_GCO2_PER_KWH)]
    )

    class Meta:
        ordering = ["hour"]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00} {self.gco2_per_kwh:g} gCO2/kWh"
