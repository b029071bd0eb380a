import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IN_CI = os.environ.get("CI") == "true"

# EKS support phases depend on the date; the suite judges them on a fixed one
# (components/core/versions.py, plan_date), so it gives the same result next year.
os.environ.setdefault("EKS_MULTUS_DATE", "2026-12-01")


def pytest_collection_modifyitems(config, items) -> None:
    """The VM's tests (marker `vm`) first, in the order pytest-randomly gave them; the rest after, in theirs.

    pytest-randomly shuffles in a wrapper that runs before this hook, so the seed still decides both orders.
    Under `make test` (pytest-xdist, --dist loadfile, --no-loadscope-reorder) the VM's file is then the
    first work unit, so one worker boots the VM at once while the other runs everything else.
    """
    vm = [i for i in items if i.get_closest_marker("vm")]
    if vm:
        chosen = set(vm)
        items[:] = vm + [i for i in items if i not in chosen]
