"""A failed program run leaves nothing for the garbage collector to report later.

Why it matters: each future still holding the run's error is logged by
`Future.__del__` with a formatted traceback whenever the collector happens to
free it; on CPython 3.11 formatting a traceback calls `ast.parse`, and a parse
nested in another parse (pytest's assertion rewriting of a module imported
later) fails with "AST constructor recursion depth mismatch"
(python/cpython#106905). `pytest tests/examples` alone failed that way.
"""

from __future__ import annotations

import gc
import logging

import pytest

from plan.mocks import PlanMocks
from plan.runner import ProgramError, run_program
from tests.helpers import ROOT, planned

WORKLOAD = ROOT / "examples" / "workload" / "__main__.py"


def test_a_failed_run_leaves_no_unretrieved_error_behind(caplog):
    outputs = dict(planned("dev").outputs, kubeconfig="k")
    mocks = PlanMocks("ap-northeast-2", stack_references={"o/eks-multus/dev": outputs})
    flat = {"eks-multus-workload:platformStack": "o/eks-multus/dev", "eks-multus-workload:network": "default/nope"}
    gc.collect()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(ProgramError, match="is not a network"):
            run_program(flat, "dev", main=WORKLOAD, project="eks-multus-workload", mocks=mocks)
        gc.collect()
    never_retrieved = [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()]
    assert never_retrieved == []
