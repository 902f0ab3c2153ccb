"""Scoring rules for 5S audits (method note).

Item scores
    Every checklist item is scored from 0 to 4. Items marked N/A and items
    left unscored are left out of every calculation.

Percentages for one audit
    The percentage for an S (Seiri, Seiton, Seiso, Seiketsu, Shitsuke) is the
    sum of the scores of that S's scored items divided by 4 x the number of
    scored items of that S, times 100, pooled over all zones and over all
    instances of a repeated zone (e.g. several classrooms). A zone's
    percentage is computed the same way over that zone's items, pooled over
    the zone's instances. The overall score is the plain mean of the five S
    percentages; it is not computed, and the audit is flagged as incomplete,
    when any S has no scored item. Full precision is kept in all
    calculations; figures are rounded to one decimal only when shown.

Bands
    below 60 % poor; 60 % up to (not including) 80 % fair; 80 % up to (not
    including) 90 % good; 90 % and above excellent.

Change between two audits of a site (comparability guard)
    The change is computed on matched items only: item codes that are scored
    (not N/A, not unscored) in both the baseline and the final audit. An item
    code that appears in several zone instances is matched when it has at
    least one scored answer in each audit, and all of its scored answers are
    pooled. For each S the change is the final S percentage over the matched
    items minus the baseline S percentage over the same items (none when that
    S has no matched item); the overall change is the mean of the five S
    changes (none when any of them is missing). Items scored in one audit but
    not in the other, or N/A or unscored in either, are left out and listed.

Programme statistics (sites that have both rounds)
    For each S and for the overall score: n (sites whose change is
    available), mean baseline and mean final score (each over all scored
    items of that audit), mean change (over matched items), the 95 %
    confidence interval of the mean change (Student t with n - 1 degrees of
    freedom; none when n < 2), the numbers of sites improved / unchanged /
    declined, Cohen's dz (mean change / sample standard deviation of the
    changes; none when n < 2 or the deviation is 0) and the Wilcoxon
    signed-rank test: zero changes are dropped, absolute changes ranked with
    mid-ranks for ties, W+ is the sum of the ranks of positive changes; the
    two-sided p value is exact (complete enumeration of sign assignments)
    for up to 20 non-zero changes and otherwise from the normal
    approximation with tie correction and no continuity correction. The
    effect size is the matched-pairs rank-biserial correlation
    r = (W+ - W-) / (W+ + W-). When every change is zero: W+ = 0, p = 1 and
    r is not defined.

This module is pure standard-library Python (no Flask, database or numpy).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "S_KEYS",
    "S_LABELS",
    "BAND_LABELS",
    "METHOD_NOTE",
    "ScoredAnswer",
    "AuditScores",
    "audit_scores",
    "audit_scores_from_sums",
    "band",
    "band_label",
    "format_pct",
    "Change",
    "compare",
    "SitePair",
    "MetricStats",
    "ProgrammeStats",
    "programme_stats",
    "wilcoxon_signed_rank",
    "t_quantile",
    "t_cdf",
    "mean_ci95",
    "cohens_dz",
]

# ---------------------------------------------------------------------------
# Constants and labels
# ---------------------------------------------------------------------------

S_KEYS: tuple[str, ...] = ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")

S_LABELS: dict[str, dict[str, str]] = {
    "seiri": {"vi": "Sàng lọc", "en": "Sort", "jp": "Seiri"},
    "seiton": {"vi": "Sắp xếp", "en": "Set in order", "jp": "Seiton"},
    "seiso": {"vi": "Sạch sẽ", "en": "Shine", "jp": "Seiso"},
    "seiketsu": {"vi": "Săn sóc", "en": "Standardise", "jp": "Seiketsu"},
    "shitsuke": {"vi": "Sẵn sàng", "en": "Sustain", "jp": "Shitsuke"},
}

BAND_LABELS: dict[str, dict[str, str]] = {
    "poor": {"vi": "Kém", "en": "Poor"},
    "fair": {"vi": "Trung bình", "en": "Fair"},
    "good": {"vi": "Tốt", "en": "Good"},
    "excellent": {"vi": "Xuất sắc", "en": "Excellent"},
}

MAX_SCORE = 4

# Changes are compared with zero (and with each other, for tied ranks) after
# rounding to this many decimals, so floating-point noise such as 1e-14 is
# neither an "improvement" nor breaks a tie.
_CHANGE_DECIMALS = 9

METHOD_NOTE: dict[str, str] = {
    "vi": (
        "Mỗi mục được chấm từ 0 đến 4. Các mục đánh dấu Không áp dụng (N/A) "
        "hoặc chưa chấm không được tính.\n\n"
        "Điểm phần trăm của mỗi S = tổng điểm các mục đã chấm của S đó ÷ "
        "(4 × số mục đã chấm của S đó) × 100, gộp chung mọi khu vực và mọi "
        "lần lặp của một khu vực (ví dụ nhiều phòng học). Điểm của khu vực "
        "được tính tương tự trên các mục của khu vực đó. Điểm tổng là trung "
        "bình cộng của năm điểm S; nếu có S không có mục nào được chấm thì "
        "không tính điểm tổng và phiếu được đánh dấu là chưa đầy đủ. Các phép "
        "tính giữ nguyên độ chính xác, chỉ làm tròn một chữ số thập phân khi "
        "hiển thị. Xếp loại: dưới 60 % Kém; từ 60 % đến dưới 80 % Trung bình; "
        "từ 80 % đến dưới 90 % Tốt; từ 90 % trở lên Xuất sắc.\n\n"
        "Mức thay đổi của một cơ sở chỉ được tính trên các mục đối sánh: các "
        "mục được chấm (không phải N/A, không bỏ trống) ở cả đợt đầu kỳ và "
        "đợt cuối kỳ. Một mục xuất hiện ở nhiều lần lặp khu vực được coi là "
        "đối sánh khi có ít nhất một câu trả lời được chấm ở mỗi đợt, và mọi "
        "câu trả lời được chấm của mục đó được gộp lại. Mức thay đổi của mỗi "
        "S = điểm S cuối kỳ trừ điểm S đầu kỳ, cùng trên các mục đối sánh; "
        "mức thay đổi tổng là trung bình của năm mức thay đổi S. Các mục chỉ "
        "được chấm ở một đợt, hoặc N/A hay bỏ trống ở một trong hai đợt, bị "
        "loại khỏi phép so sánh và được liệt kê.\n\n"
        "Thống kê toàn chương trình (các cơ sở có đủ hai đợt), cho từng S và "
        "cho điểm tổng: số cơ sở n; điểm trung bình đầu kỳ và cuối kỳ (trên "
        "mọi mục đã chấm của từng đợt); mức thay đổi trung bình (trên các mục "
        "đối sánh) và khoảng tin cậy 95 % của nó (phân phối Student t, n − 1 "
        "bậc tự do; không tính khi n < 2); số cơ sở tăng / không đổi / giảm; "
        "hệ số Cohen dz (mức thay đổi trung bình ÷ độ lệch chuẩn mẫu của các "
        "mức thay đổi); kiểm định dấu-hạng Wilcoxon: bỏ các mức thay đổi bằng "
        "0, xếp hạng giá trị tuyệt đối (hạng trung bình cho các giá trị bằng "
        "nhau), W+ là tổng hạng của các mức thay đổi dương; giá trị p hai phía "
        "được tính chính xác khi có tối đa 20 mức thay đổi khác 0, và theo "
        "xấp xỉ chuẩn có hiệu chỉnh hạng trùng (không hiệu chỉnh liên tục) khi "
        "nhiều hơn; độ lớn hiệu ứng là hệ số tương quan hạng hai chuỗi "
        "(rank-biserial) r = (W+ − W−) / (W+ + W−)."
    ),
    "en": (
        "Each item is scored from 0 to 4. Items marked N/A and unscored items "
        "are left out.\n\n"
        "The percentage for each S = sum of the scores of that S's scored "
        "items ÷ (4 × number of scored items of that S) × 100, pooled over all "
        "zones and all instances of a repeated zone (e.g. several "
        "classrooms). A zone's percentage is computed the same way over that "
        "zone's items. The overall score is the plain mean of the five S "
        "percentages; when any S has no scored item the overall score is not "
        "computed and the audit is flagged as incomplete. Calculations keep "
        "full precision; figures are rounded to one decimal only for display. "
        "Bands: below 60 % Poor; 60 % to below 80 % Fair; 80 % to below 90 % "
        "Good; 90 % and above Excellent.\n\n"
        "A site's change is computed on matched items only: items scored (not "
        "N/A, not left blank) in both the baseline and the final audit. An "
        "item that appears in several zone instances is matched when it has "
        "at least one scored answer in each audit, and all of its scored "
        "answers are pooled. The change for each S = final S percentage minus "
        "baseline S percentage, both over the matched items; the overall "
        "change is the mean of the five S changes. Items scored in only one "
        "audit, or N/A or blank in either, are left out of the comparison and "
        "listed.\n\n"
        "Programme statistics (sites with both rounds), for each S and for "
        "the overall score: number of sites n; mean baseline and mean final "
        "score (over all scored items of each audit); mean change (over "
        "matched items) with its 95 % confidence interval (Student t, n − 1 "
        "degrees of freedom; not computed when n < 2); numbers of sites "
        "improved / unchanged / declined; Cohen's dz (mean change ÷ sample "
        "standard deviation of the changes); Wilcoxon signed-rank test: zero "
        "changes are dropped, absolute changes are ranked (mid-ranks for "
        "ties), W+ is the sum of the ranks of the positive changes; the "
        "two-sided p value is exact for up to 20 non-zero changes and from "
        "the normal approximation with tie correction (no continuity "
        "correction) above that; the effect size is the rank-biserial "
        "correlation r = (W+ − W−) / (W+ + W−)."
    ),
}


# ---------------------------------------------------------------------------
# One audit
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredAnswer:
    """One answer of an audit checklist."""

    item_code: str
    s: str  # one of S_KEYS
    zone_code: str
    zone_instance: str  # "" for non-repeating zones
    score: int | None  # 0..4 or None (unscored)
    na: bool = False

    def __post_init__(self) -> None:
        if self.s not in S_KEYS:
            raise ValueError(f"unknown S key {self.s!r} (item {self.item_code!r})")
        if self.score is not None and not self.na:
            if isinstance(self.score, bool) or not (0 <= self.score <= MAX_SCORE):
                raise ValueError(
                    f"score must be 0..{MAX_SCORE} or None, got {self.score!r} "
                    f"(item {self.item_code!r})"
                )

    @property
    def is_scored(self) -> bool:
        """True when the answer counts: not N/A and has a score."""
        return not self.na and self.score is not None


@dataclass(frozen=True)
class AuditScores:
    by_s: dict[str, float | None]  # all five keys always present
    by_zone: dict[str, float | None]  # zone_code -> pct; zones seen in the answers
    overall: float | None
    incomplete_s: tuple[str, ...]  # S keys with no scored item (the "flag")
    scored: int  # number of scored answers
    na: int  # number of N/A answers

    @property
    def complete(self) -> bool:
        return not self.incomplete_s


def _pct(total: int, count: int) -> float | None:
    if count == 0:
        return None
    return total / (MAX_SCORE * count) * 100.0


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    if not vals or any(v is None for v in vals):
        return None
    return math.fsum(vals) / len(vals)


def _s_percentages(answers: Iterable[ScoredAnswer]) -> dict[str, float | None]:
    totals = {s: 0 for s in S_KEYS}
    counts = {s: 0 for s in S_KEYS}
    for a in answers:
        score = a.score
        if score is not None and not a.na:  # is_scored, inlined: this is the hot loop
            totals[a.s] += score
            counts[a.s] += 1
    return {s: _pct(totals[s], counts[s]) for s in S_KEYS}


def audit_scores(answers: Iterable[ScoredAnswer]) -> AuditScores:
    """Percentages for one audit (see the module docstring for the rules)."""
    s_totals = {s: 0 for s in S_KEYS}
    s_counts = {s: 0 for s in S_KEYS}
    zone_totals: dict[str, int] = {}
    zone_counts: dict[str, int] = {}
    scored = na = 0
    for a in answers:  # one pass: S and zone sums together
        zone = a.zone_code
        if zone not in zone_totals:
            zone_totals[zone] = zone_counts[zone] = 0
        if a.na:
            na += 1
        elif a.score is not None:
            scored += 1
            zone_totals[zone] += a.score
            zone_counts[zone] += 1
            s_totals[a.s] += a.score
            s_counts[a.s] += 1
    return _from_sums(s_totals, s_counts, zone_totals, zone_counts, scored, na)


SumRow = tuple  # (kind, key, sum of scores, scored answers, N/A answers); kind "s" (key: an S) or "zone"


def audit_scores_from_sums(rows: Iterable[SumRow]) -> AuditScores:
    """The same percentages as `audit_scores`, from answers already summed per S and per zone
    (a save sums its audit's answers as it reads them, without an object per answer). A zone
    whose answers are all unscored is still seen: pass it with zeros. The scored and N/A counts
    are those of the S rows (each answer is in exactly one S and one zone)."""
    s_totals = {s: 0 for s in S_KEYS}
    s_counts = {s: 0 for s in S_KEYS}
    zone_totals: dict[str, int] = {}
    zone_counts: dict[str, int] = {}
    scored = na = 0
    for kind, key, total, count, na_count in rows:
        if kind not in ("s", "zone") or (kind == "s" and key not in s_totals):
            raise ValueError(f"unknown sum row {kind!r} {key!r}")
        if count < 0 or na_count < 0 or not 0 <= total <= MAX_SCORE * count:
            raise ValueError(f"impossible sums for {kind} {key!r}: sum {total}, {count} scored")
        if kind == "s":
            s_totals[key] += total
            s_counts[key] += count
            scored += count
            na += na_count
        else:
            zone_totals[key] = zone_totals.get(key, 0) + total
            zone_counts[key] = zone_counts.get(key, 0) + count
    return _from_sums(s_totals, s_counts, zone_totals, zone_counts, scored, na)


def _from_sums(s_totals: dict[str, int], s_counts: dict[str, int], zone_totals: dict[str, int],
               zone_counts: dict[str, int], scored: int, na: int) -> AuditScores:
    by_s = {s: _pct(s_totals[s], s_counts[s]) for s in S_KEYS}
    by_zone = {z: _pct(zone_totals[z], zone_counts[z]) for z in zone_totals}
    incomplete = tuple(s for s in S_KEYS if by_s[s] is None)
    overall = None if incomplete else _mean_or_none(by_s[s] for s in S_KEYS)
    return AuditScores(
        by_s=by_s,
        by_zone=by_zone,
        overall=overall,
        incomplete_s=incomplete,
        scored=scored,
        na=na,
    )


def band(pct: float | None) -> str | None:
    """'poor' (< 60), 'fair' (60 to < 80), 'good' (80 to < 90), 'excellent' (>= 90)."""
    if pct is None:
        return None
    if pct < 60:
        return "poor"
    if pct < 80:
        return "fair"
    if pct < 90:
        return "good"
    return "excellent"


def band_label(pct: float | None, lang: str = "vi") -> str | None:
    """Band label in ``lang`` ("vi" or "en"; other languages fall back to English)."""
    key = band(pct)
    if key is None:
        return None
    labels = BAND_LABELS[key]
    return labels.get(lang, labels["en"])


def format_pct(pct: float | None, lang: str = "vi") -> str:
    """One decimal (half up): vi "62,5 %", en "62.5%"; None -> "—"."""
    if pct is None:
        return "—"
    if math.isnan(pct) or math.isinf(pct):
        return "—"
    # Decimal(str(x)) rounds the shortest decimal representation, so 62.25
    # shows as 62.3 (as a person would round it) rather than 62.2.
    d = Decimal(str(pct)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if d == 0:
        d = Decimal("0.0")  # never "-0.0"
    text = f"{d:.1f}"
    if lang == "vi":
        return text.replace(".", ",") + " %"
    return text + "%"


# ---------------------------------------------------------------------------
# Baseline vs final of one site
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    by_s: dict[str, float | None]
    overall: float | None
    baseline_matched: dict[str, float | None]  # S% of baseline over matched items
    final_matched: dict[str, float | None]
    excluded_items: tuple[str, ...]


def compare(baseline: Iterable[ScoredAnswer], final: Iterable[ScoredAnswer]) -> Change:
    """Change from baseline to final on matched items only (comparability guard)."""
    baseline = list(baseline)
    final = list(final)
    scored_b = {a.item_code for a in baseline if a.is_scored}
    scored_f = {a.item_code for a in final if a.is_scored}
    matched = scored_b & scored_f
    all_codes = {a.item_code for a in baseline} | {a.item_code for a in final}
    excluded = tuple(sorted(all_codes - matched))

    b_pct = _s_percentages(a for a in baseline if a.item_code in matched)
    f_pct = _s_percentages(a for a in final if a.item_code in matched)
    by_s: dict[str, float | None] = {}
    for s in S_KEYS:
        b, f = b_pct[s], f_pct[s]
        by_s[s] = None if b is None or f is None else f - b
    overall = _mean_or_none(by_s[s] for s in S_KEYS)
    return Change(
        by_s=by_s,
        overall=overall,
        baseline_matched=b_pct,
        final_matched=f_pct,
        excluded_items=excluded,
    )


# ---------------------------------------------------------------------------
# Student t distribution (regularized incomplete beta, Numerical Recipes)
# ---------------------------------------------------------------------------

_FPMIN = 1e-300
_BETA_EPS = 1e-16


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _FPMIN:
        d = _FPMIN
    d = 1.0 / d
    h = d
    max_iter = 1000 + int(20 * math.sqrt(max(a, b)))
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = 1.0 + aa / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = 1.0 + aa / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _BETA_EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _stirling_corr(x: float) -> float:
    """lgamma(x) - [(x - 1/2) ln x - x + ln(2 pi)/2] for large x."""
    x2 = x * x
    return 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x2) + 1.0 / (1260.0 * x * x2 * x2)


def _ln_beta(a: float, b: float) -> float:
    """ln B(a, b), without the cancellation of lgamma differences for large a or b."""
    big, small = (a, b) if a >= b else (b, a)
    if big < 100.0:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma(big + small) - lgamma(big) by Stirling differences (log1p keeps precision)
    diff = (
        (big - 0.5) * math.log1p(small / big)
        + small * math.log(big + small)
        - small
        + _stirling_corr(big + small)
        - _stirling_corr(big)
    )
    return math.lgamma(small) - diff


def _betai(a: float, b: float, x: float, one_minus_x: float | None = None) -> float:
    """Regularized incomplete beta I_x(a, b); ``one_minus_x`` may be given exactly."""
    y = 1.0 - x if one_minus_x is None else one_minus_x
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    ln_x = math.log1p(-y) if x > 0.5 else math.log(x)
    ln_y = math.log1p(-x) if y > 0.5 else math.log(y)
    ln_bt = -_ln_beta(a, b) + a * ln_x + b * ln_y
    bt = math.exp(ln_bt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, y) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0 (relative precision kept far out in the tail)."""
    t2 = t * t
    x = df / (df + t2)
    y = t2 / (df + t2)
    return 0.5 * _betai(df / 2.0, 0.5, x, y)


def _t_pdf(t: float, df: float) -> float:
    # 1 / (sqrt(df) B(df/2, 1/2)) = Gamma((df+1)/2) / (sqrt(df pi) Gamma(df/2))
    ln_c = -_ln_beta(df / 2.0, 0.5) - 0.5 * math.log(df)
    return math.exp(ln_c - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _check_df(df: float) -> None:
    if isinstance(df, bool) or not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")


def t_cdf(t: float, df: float) -> float:
    """Student t cumulative distribution function P(T <= t); df may be math.inf."""
    _check_df(df)
    if math.isinf(df):
        return statistics.NormalDist().cdf(t)
    if t >= 0:
        return 1.0 - _t_upper_tail(t, df)
    return _t_upper_tail(-t, df)


def t_quantile(p: float, df: float) -> float:
    """Inverse Student t CDF for 0 < p < 1 and df >= 1 (df may be math.inf).

    Computed from the regularized incomplete beta function (continued
    fraction) and inverted with a bracketed Newton iteration to about 1e-12.
    """
    _check_df(df)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    if math.isinf(df):
        return statistics.NormalDist().inv_cdf(p)
    if p == 0.5:
        return 0.0
    sign = 1.0 if p > 0.5 else -1.0
    q = 1.0 - p if p > 0.5 else p  # target upper-tail probability, < 0.5

    # Bracket the root of f(t) = tail(t) - q on t > 0 (tail is decreasing).
    lo, hi = 0.0, 1.0
    while _t_upper_tail(hi, df) > q:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:  # pragma: no cover - only for absurd p
            break
    t = 0.5 * (lo + hi)
    for _ in range(500):
        f = _t_upper_tail(t, df) - q
        if f == 0.0:
            break
        if f > 0.0:
            lo = t
        else:
            hi = t
        pdf = _t_pdf(t, df)
        t_new = t + f / pdf if pdf > 0.0 else 0.5 * (lo + hi)
        if not lo < t_new < hi:
            t_new = 0.5 * (lo + hi)
        if abs(t_new - t) <= 1e-13 * max(1.0, abs(t)) or hi - lo <= 1e-13 * max(1.0, hi):
            t = t_new
            break
        t = t_new
    return sign * t


# ---------------------------------------------------------------------------
# Descriptive statistics, CI, effect sizes, Wilcoxon
# ---------------------------------------------------------------------------


def _all_equal(values: Sequence[float]) -> bool:
    """Equal after rounding to 1e-9 (so floating-point noise gives sd == 0)."""
    rounded = {round(v, _CHANGE_DECIMALS) for v in values}
    return len(rounded) <= 1


def _sd(values: Sequence[float]) -> float:
    """Sample standard deviation, exactly 0 when the values are all equal."""
    if _all_equal(values):
        return 0.0
    return statistics.stdev(values)


def mean_ci95(values: Sequence[float]) -> tuple[float, float] | None:
    """95 % Student-t confidence interval of the mean (None when n < 2)."""
    vals = [float(v) for v in values]
    n = len(vals)
    if n < 2:
        return None
    mean = statistics.fmean(vals)
    sd = _sd(vals)
    if sd == 0.0:
        return (mean, mean)
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def cohens_dz(values: Sequence[float]) -> float | None:
    """Mean / sample sd of paired changes (None when n < 2 or sd == 0)."""
    vals = [float(v) for v in values]
    if len(vals) < 2:
        return None
    sd = _sd(vals)
    if sd == 0.0:
        return None
    return statistics.fmean(vals) / sd


def _midranks(values: Sequence[float]) -> list[float]:
    """Ranks 1..n of ``values`` with mid-ranks for ties (same order as input)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def _exact_signed_rank_p(doubled_ranks: Sequence[int], doubled_w_plus: int) -> float:
    """Exact two-sided p: share of the 2^n sign assignments with
    |W+ - n(n+1)/4| >= observed, by dynamic programming over doubled ranks."""
    total = sum(doubled_ranks)  # = n(n+1) in doubled units
    counts = [0] * (total + 1)
    counts[0] = 1
    reach = 0
    for r in doubled_ranks:
        reach += r
        for s in range(reach, r - 1, -1):
            counts[s] += counts[s - r]
    # centre = n(n+1)/4 in rank units = total / 2 in doubled units; compare
    # 2*|T - centre| = |2T - total| so everything stays an integer (exact).
    observed = abs(2 * doubled_w_plus - total)
    extreme = sum(c for s, c in enumerate(counts) if abs(2 * s - total) >= observed)
    return min(1.0, extreme / 2 ** len(doubled_ranks))


def wilcoxon_signed_rank(changes: Sequence[float]) -> tuple[float, float, float | None]:
    """Wilcoxon signed-rank test of paired changes against 0.

    Returns (W+, two-sided p, rank-biserial r). Zero changes are dropped
    (changes are rounded to 1e-9 first); |change| is ranked with mid-ranks;
    exact p for n <= 20 non-zero changes, else the normal approximation with
    tie correction and no continuity correction.
    """
    d = [round(float(c), _CHANGE_DECIMALS) for c in changes]
    d = [c for c in d if c != 0.0]
    n = len(d)
    if n == 0:
        return 0.0, 1.0, None
    ranks = _midranks([abs(c) for c in d])
    w_plus = math.fsum(r for r, c in zip(ranks, d) if c > 0)
    total = n * (n + 1) / 2.0
    w_minus = total - w_plus
    r_biserial = (w_plus - w_minus) / total

    if n <= 20:
        doubled = [int(round(2 * r)) for r in ranks]
        p = _exact_signed_rank_p(doubled, int(round(2 * w_plus)))
    else:
        tie_sizes: dict[float, int] = {}
        for c in d:
            tie_sizes[abs(c)] = tie_sizes.get(abs(c), 0) + 1
        tie_term = sum(t ** 3 - t for t in tie_sizes.values()) / 48.0
        var = n * (n + 1) * (2 * n + 1) / 24.0 - tie_term
        z = (w_plus - n * (n + 1) / 4.0) / math.sqrt(var)
        p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    return w_plus, p, r_biserial


# ---------------------------------------------------------------------------
# Programme statistics
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SitePair:
    """One site's input to the programme statistics."""

    code: str
    baseline: AuditScores
    final: AuditScores
    change: Change

    @classmethod
    def from_answers(
        cls,
        code: str,
        baseline: Iterable[ScoredAnswer],
        final: Iterable[ScoredAnswer],
    ) -> SitePair:
        baseline = list(baseline)
        final = list(final)
        return cls(
            code=code,
            baseline=audit_scores(baseline),
            final=audit_scores(final),
            change=compare(baseline, final),
        )


@dataclass(frozen=True)
class MetricStats:
    n: int
    baseline_mean: float | None
    final_mean: float | None
    mean_change: float | None
    ci95: tuple[float, float] | None
    improved: int
    unchanged: int
    declined: int
    cohens_dz: float | None
    wilcoxon_w_plus: float
    wilcoxon_p: float
    rank_biserial: float | None

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "baseline_mean": self.baseline_mean,
            "final_mean": self.final_mean,
            "mean_change": self.mean_change,
            "ci95": None if self.ci95 is None else [self.ci95[0], self.ci95[1]],
            "improved": self.improved,
            "unchanged": self.unchanged,
            "declined": self.declined,
            "cohens_dz": self.cohens_dz,
            "wilcoxon_w_plus": self.wilcoxon_w_plus,
            "wilcoxon_p": self.wilcoxon_p,
            "rank_biserial": self.rank_biserial,
        }


@dataclass(frozen=True)
class ProgrammeStats:
    overall: MetricStats
    by_s: dict[str, MetricStats]

    def as_dict(self) -> dict:
        return {
            "overall": self.overall.as_dict(),
            "by_s": {s: self.by_s[s].as_dict() for s in S_KEYS},
        }


def _metric_stats(rows: Sequence[tuple[float | None, float | None, float]]) -> MetricStats:
    """rows: (baseline pct over all items, final pct over all items, matched change)."""
    changes = [c for _, _, c in rows]
    n = len(changes)
    baselines = [b for b, _, _ in rows if b is not None]
    finals = [f for _, f, _ in rows if f is not None]
    rounded = [round(c, _CHANGE_DECIMALS) for c in changes]
    w_plus, p, r = wilcoxon_signed_rank(changes)
    return MetricStats(
        n=n,
        baseline_mean=statistics.fmean(baselines) if baselines else None,
        final_mean=statistics.fmean(finals) if finals else None,
        mean_change=statistics.fmean(changes) if changes else None,
        ci95=mean_ci95(changes),
        improved=sum(1 for c in rounded if c > 0),
        unchanged=sum(1 for c in rounded if c == 0),
        declined=sum(1 for c in rounded if c < 0),
        cohens_dz=cohens_dz(changes),
        wilcoxon_w_plus=w_plus,
        wilcoxon_p=p,
        rank_biserial=r,
    )


def programme_stats(pairs: Sequence[SitePair]) -> ProgrammeStats:
    """Programme statistics over sites having both rounds.

    For each metric only sites whose (matched-item) change is not None are
    used; their baseline / final means use each audit's scores over all
    scored items.
    """
    overall_rows = [
        (p.baseline.overall, p.final.overall, p.change.overall)
        for p in pairs
        if p.change.overall is not None
    ]
    by_s = {}
    for s in S_KEYS:
        rows = [
            (p.baseline.by_s.get(s), p.final.by_s.get(s), p.change.by_s[s])
            for p in pairs
            if p.change.by_s.get(s) is not None
        ]
        by_s[s] = _metric_stats(rows)
    return ProgrammeStats(overall=_metric_stats(overall_rows), by_s=by_s)
