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
