"""Core benchmarks: the cost of access scoping and of the audit trail, each against a baseline
measured in the same run. Prints figures and ratios; asserts nothing.

    make bench            (or: .venv/bin/python bench/bench_core.py)
"""

from __future__ import annotations

import os
import time

import _django  # noqa: F401  (data directory, database, django.setup())
from django.core.management import call_command


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    with open(os.devnull, "w") as sink:
        call_command("init", "--demo", verbosity=0, stdout=sink)
    from django.contrib.auth import get_user_model

    from mamoru.core.access import forget
    from mamoru.core.context import acting_as
    from mamoru.core.models import AuditEntry, OrgUnit, Person

    user = get_user_model().objects.get(username="bucho-fukushi")

    # 1. Scoped listing of people vs the same listing unscoped.
    def scoped() -> None:
        list(Person.objects.restrict(user, "view").select_related("org_unit").values_list("pk", "org_unit__name"))
        forget(user)

    def unscoped() -> None:
        list(Person.objects.select_related("org_unit").values_list("pk", "org_unit__name"))

    for _ in range(3):
        scoped(), unscoped()
    t_scoped, t_plain = best_of(scoped, 50), best_of(unscoped, 50)
    print(f"people list, scoped (incl. a new request's access generation read; grants from the cache): "
          f"{t_scoped * 1e3:.3f} ms; unscoped: {t_plain * 1e3:.3f} ms; "
          f"ratio {t_scoped / t_plain:.2f}x")

    # 2. Audited saves (signal + hash chain) vs the same updates without the trail.
    units = list(OrgUnit.objects.filter(kind="section")[:25])

    def audited() -> None:
        with acting_as(user=user):
            for u in units:
                u.sort_order += 1
                u.save()

    def plain() -> None:
        for u in units:
            u.sort_order += 1
            OrgUnit.objects.filter(pk=u.pk).update(sort_order=u.sort_order)

    t_audit, t_raw = best_of(audited, 5), best_of(plain, 5)
    n = len(units)
    print(f"unit update with audit entry: {t_audit / n * 1e3:.3f} ms each; "
          f"plain UPDATE: {t_raw / n * 1e3:.3f} ms each; ratio {t_audit / t_raw:.2f}x")

    # 3. Chain verification speed.
    from mamoru.core.audit import verify

    count = AuditEntry.objects.count()
    t_verify = best_of(verify, 3)
    t_read = best_of(lambda: list(AuditEntry.objects.order_by("seq").values_list("hash", flat=True)), 3)
    print(f"audit verify: {count} entries in {t_verify * 1e3:.1f} ms ({count / t_verify:,.0f} entries/s); "
          f"reading the hashes alone {t_read * 1e3:.1f} ms; ratio {t_verify / t_read:.1f}x")


if __name__ == "__main__":
    main()
