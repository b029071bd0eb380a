"""A ValidatingAdmissionPolicy evaluated with cel-python, as the API server evaluates one.

Kubernetes "Validating Admission Policy": matchConditions first (all must hold, else the policy does not
apply), then variables in order (each may use the ones before), then validations; the first one that does
not evaluate to true fails the request with its messageExpression, else its message. An evaluation error
counts as a failure (the policies here are bound with failurePolicy Fail). The Kubernetes CEL libraries the
policies use ("CEL in Kubernetes": strings ext split/trim, regex findAll, list sum) are added as functions.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import IN_CI

celpy = pytest.importorskip("celpy") if not IN_CI else __import__("celpy")
celtypes = celpy.celtypes
_LIMIT = sys.getrecursionlimit()
_ENV = celpy.Environment()
# celpy.Environment raises the recursion limit to 2500; CPython 3.11.7 then fails later ast.parse calls (pytest's
# assertion rewriting) with "AST constructor recursion depth mismatch". These expressions need no deeper stack.
sys.setrecursionlimit(_LIMIT)


def _split(s, sep):
    return celtypes.ListType([celtypes.StringType(x) for x in str(s).split(str(sep))])


def _trim(s):
    return celtypes.StringType(str(s).strip())


def _find_all(s, pattern):
    return celtypes.ListType([celtypes.StringType(m.group(0)) for m in re.finditer(str(pattern), str(s))])


def _sum(values):
    total = celtypes.IntType(0)
    for v in values:
        total = total + v
    return total


KUBERNETES_LIBRARIES = {"split": _split, "trim": _trim, "findAll": _find_all, "sum": _sum}


def evaluate(expression: str, activation: dict):
    return _ENV.program(_ENV.compile(expression), functions=KUBERNETES_LIBRARIES).evaluate(activation)


def holds(expression: str, activation: dict) -> bool:
    """True only for a boolean true; false, another type or an evaluation error is not."""
    try:
        value = evaluate(expression, activation)
    except celpy.CELEvalError:
        return False
    return isinstance(value, celtypes.BoolType) and bool(value)


def refusal(policy: dict, obj: dict, old: dict | None, request: dict) -> str | None:
    """None if the policy admits `obj` (or does not match it), else the failing validation's message."""
    activation = {"object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old), "request": celpy.json_to_cel(request)}
    spec = policy["spec"]
    if not all(holds(c["expression"], activation) for c in spec["matchConditions"]):
        return None
    variables: dict = {}
    for v in spec.get("variables", []):
        activation["variables"] = celtypes.MapType(variables)
        variables[celtypes.StringType(v["name"])] = evaluate(v["expression"], activation)
    activation["variables"] = celtypes.MapType(variables)
    for check in spec["validations"]:
        if not holds(check["expression"], activation):
            return str(evaluate(check["messageExpression"], activation)) if "messageExpression" in check else check["message"]
    return None
