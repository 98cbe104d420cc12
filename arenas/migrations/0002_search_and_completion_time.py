import django.utils.timezone
from django.db import migrations, models


def fold_existing_facts(apps, schema_editor):
    Fact = apps.get_model("arenas", "Fact")
    for fact in Fact.objects.only("id", "content").iterator(chunk_size=2000):
        Fact.objects.filter(pk=fact.pk).update(content_folded=fact.content.casefold())


class Migration(migrations.Migration):
    """Facts keep a case-folded copy of their content for search; a completion's time is
    the one the domain gives."""

    dependencies = [
        ("arenas", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="fact",
            name="content_folded",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fold_existing_facts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="stepcompletion",
            name="completed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
