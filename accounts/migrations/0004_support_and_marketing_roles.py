from django.db import migrations

ROLES = ("support", "marketing")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_quality_assurance_role")]

    operations = [migrations.RunPython(create_roles, remove_roles)]
