from django.core.management.base import BaseCommand

from ops.demo import seed


class Command(BaseCommand):
    help = "Build the demo province (units, frameworks, an open cycle, one account per role)."

    def handle(self, *args: object, **options: object) -> None:
        cycle = seed()
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready: {cycle.title} ({cycle.cases.count()} cases).")
        )
