"""EKS versions: the data file against the EKS release calendar, and the support rules on a given date.

Source: Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS"
(awsdocs/amazon-eks-user-guide latest/ug/versioning/kubernetes-versions.adoc): 14 months of
standard support from the EKS release, then 12 months of extended support (billed extra);
after the end of extended support EKS creates no new cluster of that version.
"""

from __future__ import annotations

import datetime as dt

import pytest

from components.core.advice import advise, extended_support_on
from components.core.validate import kubernetes_offered_on
from components.core.versions import DATE_ENV, eks_version, eks_versions, plan_date
from tests.helpers import errors_of, load, ns

TODAY = dt.date(2026, 12, 1)


def _version(v: str):
    def mutate(flat):
        flat.setdefault("eks-multus:cluster", {})["kubernetesVersion"] = v

    return mutate


def _months_later(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    return day.replace(year=day.year + m // 12, month=m % 12 + 1)


def test_calendar_rows_as_the_eks_docs_give_them():
    # Rows of the EKS release calendar (kubernetes-versions.adoc), copied as dates.
    assert eks_version("1.33").end_of_standard == dt.date(2026, 7, 29)
    assert eks_version("1.34").end_of_standard == dt.date(2026, 12, 2)
    assert eks_version("1.34").end_of_extended == dt.date(2027, 12, 2)
    assert eks_version("1.31").end_of_extended == dt.date(2026, 11, 26)


@pytest.mark.parametrize("version", sorted(eks_versions()))
def test_every_row_follows_the_14_plus_12_month_rule(version):
    row = eks_version(version)
    assert row.end_of_standard <= _months_later(row.eks_release, 14) + dt.timedelta(days=3)
    assert row.end_of_standard >= _months_later(row.eks_release, 14) - dt.timedelta(days=31)
    assert row.end_of_extended == _months_later(row.end_of_standard, 12)


def test_default_version_is_in_standard_support_today():
    cfg = load("dev", lambda f: ns(f, "cluster").pop("kubernetesVersion"))
    assert cfg.cluster.kubernetes_version == "1.35"
    assert eks_version("1.35").phase(TODAY) == "standard"
    assert eks_version("1.35").phase(dt.date(2026, 1, 27)) == "unreleased"


def test_a_version_eks_never_offered_is_refused():
    errors = errors_of("dev", _version("1.99"))
    assert any(e.startswith("eks-multus:cluster.kubernetesVersion: EKS does not offer Kubernetes 1.99;") for e in errors), errors


def test_a_version_past_extended_support_is_refused_on_the_plan_date():
    cfg = load("dev", _version("1.34"))
    assert list(kubernetes_offered_on(cfg, TODAY)) == []
    (issue,) = kubernetes_offered_on(cfg, dt.date(2027, 12, 2))
    assert issue.path == "cluster.kubernetesVersion"
    assert "ended on 2027-12-02" in issue.render() and "use one of" in issue.render()
    base = load("dev")  # 1.30 extended support ended 2026-07-23; build the model without validation
    cfg = base.model_copy(update={"cluster": base.cluster.model_copy(update={"kubernetes_version": "1.30"})})
    assert [i.path for i in kubernetes_offered_on(cfg, TODAY)] == ["cluster.kubernetesVersion"]


def test_extended_support_warns_without_failing():
    cfg = load("dev", _version("1.33"))  # standard support ended 2026-07-29
    (issue,) = extended_support_on(cfg, TODAY)
    assert issue.path == "cluster.kubernetesVersion" and "2026-07-29" in issue.render()
    assert list(extended_support_on(cfg, dt.date(2026, 7, 28))) == []
    assert list(extended_support_on(load("dev"), TODAY)) == []
    # The date is not in the message, so a plan made on another day of the same phase says the same.
    assert issue.render() == next(iter(extended_support_on(cfg, dt.date(2027, 1, 15)))).render()


def test_plan_date_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(DATE_ENV, "2027-12-02")
    assert plan_date() == dt.date(2027, 12, 2)
    errors = errors_of("dev", _version("1.34"))
    assert any("ended on 2027-12-02" in e for e in errors)
    monkeypatch.setenv(DATE_ENV, "2026-12-01")
    assert "cluster.kubernetesVersion" in [i.path for i in advise(load("dev", _version("1.33")))]
    assert "cluster.kubernetesVersion" not in [i.path for i in advise(load("dev"))]


def test_existing_cluster_is_not_judged_by_the_config_version():
    from tests.pure.test_validation import _byo_cluster

    cfg = load("dev", _byo_cluster())
    assert list(kubernetes_offered_on(cfg, dt.date(2030, 1, 1))) == []
