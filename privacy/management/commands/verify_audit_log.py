from django.core.management.base import BaseCommand, CommandError

from privacy.audit import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain; fail if any entry was edited or removed."

    def handle(self, *args: object, **options: object) -> None:
        check = verify_chain()
        if not check.ok:
            where = (
                f"at entry {check.first_bad}"
                if check.first_bad is not None
                else "at the end (entries removed)"
            )
            raise CommandError(f"The audit log does not verify {where}; {check.entries} read.")
        self.stdout.write(f"The audit log verifies: {check.entries} entries.")
