"""Template filters of the PDF statements: the pages' way of writing numbers
(kubemon/number_formats.py), in the language the document is rendered in."""

from django import template

from kubemon.number_formats import amount, chf, percent

register = template.Library()
register.filter(amount)
register.filter(chf)
register.filter(percent)
