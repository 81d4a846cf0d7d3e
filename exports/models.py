"""Background jobs (exports and prints) and their progress, and the printed editions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parties.models import Town


class Job(models.Model):
    """A long task run by a Celery worker; the page polls it for progress."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("export")
        PRINT = "print", _("printed map")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    result_path = models.CharField(_("result file"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class Edition(models.Model):
    """One printed map, kept with the data date it shows and what changed since the edition before.

    ``changes`` is computed at print time from the accepted revisions between the previous edition's
    ``data_as_of`` and this one's: ``{"since", "created", "modified", "deleted", "items": [...]}``.
    """

    town = models.ForeignKey(Town, on_delete=models.CASCADE, related_name="editions")
    number = models.PositiveIntegerField(_("edition number"))
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="editions")
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("previous")
    )
    title = models.CharField(_("title"), max_length=200)
    params = models.JSONField(_("parameters"), default=dict)
    created_at = models.DateTimeField(_("printed at"), auto_now_add=True)
    data_as_of = models.DateTimeField(_("data as of"))
    file_path = models.CharField(_("PDF file"), max_length=500)
    preview_path = models.CharField(_("preview image"), max_length=500, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), default=1)
    changes = models.JSONField(_("changes since the previous edition"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("printed edition")
        verbose_name_plural = _("printed editions")
        constraints = [models.UniqueConstraint(fields=["town", "number"], name="edition_unique_number")]

    def __str__(self) -> str:
        return f"{self.town} #{self.number}: {self.title}"
