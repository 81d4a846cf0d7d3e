"""The review decision log, append-only at the database level like revisions."""

import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = r"""
-- Every review decision is kept for ever: UPDATE and DELETE are refused.
CREATE OR REPLACE FUNCTION cartoparty_decision_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'review decisions are append-only: % refused', lower(TG_OP)
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER decision_append_only BEFORE UPDATE OR DELETE ON mapping_reviewdecision
  FOR EACH ROW EXECUTE FUNCTION cartoparty_decision_append_only();
"""

APPEND_ONLY_DROP = """
DROP TRIGGER IF EXISTS decision_append_only ON mapping_reviewdecision;
DROP FUNCTION IF EXISTS cartoparty_decision_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('mapping', '0003_sql_functions'),
        ('parties', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReviewDecision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('decision', models.CharField(choices=[('accepted', 'accepted'), ('fixed', 'fixed and accepted'), ('rejected', 'rejected'), ('needs_changes', 'changes requested'), ('superseded', 'replaced by an amended version'), ('reverted', 'reverted')], max_length=16, verbose_name='decision')),
                ('reason_code', models.CharField(blank=True, max_length=32, verbose_name='reason')),
                ('reason', models.TextField(blank=True, verbose_name='comment')),
                ('amended_after', models.JSONField(blank=True, null=True)),
                ('geom_amended', django.contrib.gis.db.models.fields.GeometryField(blank=True, null=True, srid=4326)),
                ('version_after', models.PositiveIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='decided at')),
                ('reviewer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='review_decisions', to=settings.AUTH_USER_MODEL)),
                ('revision', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='decisions', to='mapping.revision')),
                ('successor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='mapping.revision')),
                ('town', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parties.town')),
            ],
            options={
                'verbose_name': 'review decision',
                'verbose_name_plural': 'review decisions',
                'ordering': ['created_at', 'pk'],
                'indexes': [models.Index(fields=['town', 'decision', 'created_at'], name='decision_town_idx')],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_DROP),
    ]
