"""Writing a model from an API body with the same checks as the dashboard page, and nothing half-written.

The dashboard's ModelForm holds checks the model does not (a flow that compiles, provider names the registry
knows, an eSpeak voice that exists, a number bound once per carrier): the API runs that form over the object as it
would be after the change, then `full_clean()` over every field (the model's own validators and `clean()`,
including fields the page does not show), then saves in a transaction.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from calls.models import Workspace

from ..forms import JSONObjectField
from .errors import form_errors, invalid


def _form_value(form_field: forms.Field, value):
    if isinstance(form_field, JSONObjectField):
        return json.dumps(value)
    return "" if value is None else value  # an empty form value is what stands for None


def save_checked(form_class: type[forms.ModelForm], instance: models.Model, changes: dict,
                 workspace: Workspace) -> models.Model:
    """Apply `changes` (field name -> value, foreign keys by id) to `instance` after checking them with the
    page's form and `full_clean()`, then save. Raises the API's validation error, naming the fields, before
    anything is written."""
    data = {}
    for name, form_field in form_class.base_fields.items():
        try:
            model_field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        value = changes[name] if name in changes else getattr(instance, model_field.attname)
        data[name] = _form_value(form_field, value)
    # The form sees the stored object (its rules may depend on it) and the values as they would be.
    form = form_class(data, instance=instance, workspace=workspace)
    if not form.is_valid():
        raise invalid(form_errors(form.errors))
    instance = form.instance  # the form's fields are set on it now; then the fields the page does not show
    for name, value in changes.items():
        if name not in form_class.base_fields:
            setattr(instance, instance._meta.get_field(name).attname, value)
    instance.workspace = workspace
    instance.full_clean()  # a ValidationError names its fields: errors.translate answers 400 with them
    with transaction.atomic():
        instance.save()
    return instance
