"""Parties stored at the calendar's edge before the form checked dates (year 1 in a time zone ahead
of UTC is a timestamp before year 1, which psycopg cannot read back: every page listing the town's
parties answered 500). Moved just inside the range Python can hold and convert to local time; the
agent sees them and corrects them with the form, which now accepts 2000-2100 only."""

from django.db import migrations

REPAIR_SQL = """
UPDATE parties_party SET
  starts_at = LEAST(GREATEST(starts_at, '0001-01-02 00:00+00'), '9999-12-30 00:00+00'),
  ends_at = LEAST(GREATEST(ends_at, '0001-01-02 00:00+00'), '9999-12-30 00:00+00')
WHERE starts_at NOT BETWEEN '0001-01-02 00:00+00' AND '9999-12-30 00:00+00'
   OR ends_at NOT BETWEEN '0001-01-02 00:00+00' AND '9999-12-30 00:00+00'
"""


class Migration(migrations.Migration):
    dependencies = [("parties", "0002_resident_licence_consent_nickname_ci")]

    operations = [migrations.RunSQL(REPAIR_SQL, migrations.RunSQL.noop)]
