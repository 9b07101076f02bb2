from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender: AppConfig, **kwargs: object) -> None:
    from cases.permissions import ensure_role_groups

    ensure_role_groups()


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Assessment cases")

    def ready(self) -> None:
        from cases.lookups import register

        register()  # `field__any`, before any query is built
        # Role groups need the permissions that post_migrate creates, hence this hook.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="cases-ensure-roles")
