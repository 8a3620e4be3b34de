"""The four-model NLU comparison as markdown: one text for docs/benchmarks.md and
docs/nlu-results.md (both written by `make bench`), so the two can never disagree."""

from __future__ import annotations

from pathlib import Path

from bench.nlu_scoring import situation_ids
from bench.quality import held_out_misses

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"makegood": "Makegood", "diet": "landed DIET", "tfidf_lr": "TF-IDF + LR", "minilm_lr": "MiniLM + LR"}
CV_HEADING = "## Cross-validation on the training data"
CHART_TITLES = {
    "confusion_independent.png": "Makegood's confusion matrix on the independent set",
    "situation_f1.png": "Per-situation F1 of the four models on the independent set",
}


def scoring_rules() -> list[str]:
    n = len(situation_ids())
    return [
        f"How it is scored. A *situation* is one of the catalog's {n} case-opening intents. *Exception vs not*: "
        "a prediction counts as an exception when it is a situation, and as not when it is anything else — an "
        'ordinary intent, `nlu_fallback`, or `clarify_situation`. The Makegood model asks "is it A or B?" '
        "(`clarify_situation`) when two situations are too close to call: that is scored as *not opened on a "
        "guess* — never as a correct situation (for a true situation it is a miss, lowering recall and that "
        "situation's F1) and never as a case opened (so it cannot lower exception precision). The two baselines "
        "always answer with their top intent; the DIET pipeline has its fallback threshold (0.35). Makegood's "
        "*after clarifying* figures (the customer taps the right button) are given separately, not in the tables.",
    ]


def model_rows(models: dict) -> list[str]:
    lines = ["| model | what it is |", "|---|---|"]
    about = {
        "makegood": "`models/makegood.tar.gz`, the assistant's model (TF-IDF n-grams + MiniLM sentence embedding, "
        "calibrated logistic regression, clarifying questions), parsed through Rasa's Agent",
        "diet": "the pipeline before MiniLM landed (`bench/configs/diet.yml`, from `git show "
        "e0ffd74^:rasa_project/config.yml`): sparse n-grams + DIET, `rasa train nlu` on `data/nlu`",
        "tfidf_lr": "TF-IDF word 1–2-grams + character 2–4-grams, logistic regression (C=10)",
        "minilm_lr": "mean-pooled all-MiniLM-L6-v2 sentence embedding (the assistant's encoder), logistic "
        "regression (C=10, balanced)",
    }
    for key, info in models.items():
        note = f" — **skipped**: {info['skipped']}" if info.get("skipped") else ""
        lines.append(f"| {info['name']} | {about.get(key, '')}{note} |")
    return lines


def _ran(quality: dict, model: str) -> bool:
    return not quality["models"][model].get("skipped")


def summary_table(quality: dict, key: str) -> list[str]:
    entry = quality["sets"][key]
    accuracy = "accuracy (12 situations + not_exception)" if key == "independent" else "intent accuracy"
    lines = [
        f"| model | macro-F1 ({len(situation_ids())} situations) | exception precision | exception recall | "
        f"{accuracy} | clarifying questions |",
        "|---|---|---|---|---|---|",
    ]
    for model, info in quality["models"].items():
        if not _ran(quality, model):
            lines.append(f"| {info['name']} | skipped | | | | |")
            continue
        s = entry["scores"][model]
        lines.append(
            f"| {info['name']} | {s['situation_macro_f1']:.3f} | {s['exception_precision']:.3f} | "
            f"{s['exception_recall']:.3f} | {s['intent_accuracy']:.3f} | {s['clarifying_questions']} |"
        )
    return lines


def per_situation_table(quality: dict, key: str) -> list[str]:
    entry = quality["sets"][key]
    models = [m for m in quality["models"] if _ran(quality, m)]
    lines = [
        "| situation | n | " + " | ".join(f"{SHORT.get(m, m)} P / R / F1" for m in models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    first = entry["scores"][models[0]]["per_intent"] if models else {}
    for s in situation_ids():
        if s not in first:
            continue
        cells = []
        for m in models:
            x = entry["scores"][m]["per_intent"][s]
            cells.append(f"{x['precision']:.2f} / {x['recall']:.2f} / **{x['f1']:.2f}**")
        lines.append(f"| {s} | {first[s]['support']} | " + " | ".join(cells) + " |")
    lines.append(
        "| **macro-F1** | | " + " | ".join(f"**{entry['scores'][m]['situation_macro_f1']:.3f}**" for m in models) + " |"
    )
    return lines


def conversation_lines(conv: dict) -> list[str]:
    if not conv:
        return ["Not measured."]
    if conv.get("ran") and not conv.get("fresh"):
        return [
            f"**Did not complete** (`{conv['command']}` exited with {conv.get('returncode')} and wrote no new "
            "`docs/conversation-results.json`)."
        ]
    if "pass_rate" not in conv:
        return [f"Not run by this smoke run, and no `docs/conversation-results.json` to read (`{conv['command']}`)."]
    figure = (
        f"**{conv['passed']} of {conv['checks']} checks passed ({conv['pass_rate']:.1%})** over "
        f"{conv['conversations']} conversations"
    )
    if conv.get("ran"):
        status = (
            ""
            if conv.get("returncode") == 0
            else (
                f" The test also failed an invariant (exit {conv.get('returncode')}): "
                "see its output in `benchmarks.json`."
            )
        )
        return [
            f"{figure}, run by this `make bench` on {conv['date']} (`{conv['command']}`, "
            f"{conv['seconds']:.0f} s; it starts its own servers and writes `docs/conversation-results.md` with "
            f"every failed check).{status}"
        ]
    return [
        f"{figure} — not run by this smoke run: the last figure on file (`docs/conversation-results.json`, "
        f"written {conv['file_date']})."
    ]


def section(quality: dict, conv: dict, charts: list[str], level: str = "##") -> list[str]:
    """Both sets' side-by-side tables, the per-situation table of the independent set,
    the charts and the conversation pass rate."""
    ind, held = quality["sets"]["independent"], quality["sets"]["held_out"]
    mk = ind["scores"]["makegood"]
    lines = [
        f"All four are trained on `data/nlu` ({quality['training_examples']} examples in this run; `make bench` "
        "retrains the Makegood model first when `data/` changed).",
        "",
        *model_rows(quality["models"]),
        "",
        *scoring_rules(),
        "",
        f"{level} Independent set (primary)",
        "",
        f"`{ind['path']}`, {ind['examples']} messages, {ind['about']}.",
        "",
        *summary_table(quality, "independent"),
        "",
        f"Makegood after clarifying (the customer taps the right button of its {mk['clarifying_questions']} "
        f"questions, {mk['clarifying_questions_with_the_right_button']} of which held the right situation): "
        f"macro-F1 {mk['after_clarifying']['situation_macro_f1']:.3f}, exception precision "
        f"{mk['after_clarifying']['exception_precision']:.3f}, "
        f"recall {mk['after_clarifying']['exception_recall']:.3f}.",
        "",
        "Per situation (precision / recall / **F1**):",
        "",
        *per_situation_table(quality, "independent"),
        "",
        *(f"![{CHART_TITLES.get(Path(c).name, c)}]({c})" for c in charts if "scaling" not in c),
        "",
        f"{level} Older held-out set",
        "",
        f"`{held['path']}`, {held['examples']} messages, {held['about']}.",
        "",
        *summary_table(quality, "held_out"),
        "",
        f"{level} Conversation pass rate",
        "",
        "The independent conversation set (`tests/eval/conversations.yml`, written by someone who never saw "
        "`data/` or the bot's replies), held end to end over REST against both servers with the Makegood model:",
        "",
        *conversation_lines(conv),
        "",
    ]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def kept_cv_section(path: Path = ROOT / "docs" / "nlu-results.md") -> str:
    """The cross-validation section (written by hand from scripts/nlu_cv.py's output): kept
    when bench rewrites docs/nlu-results.md."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    start = text.find(CV_HEADING)
    if start < 0:
        return ""
    rest = text[start + len(CV_HEADING) :]
    end = rest.find("\n# ")
    return CV_HEADING + (rest if end < 0 else rest[: end + 1])


def nlu_results_markdown(results: dict, charts: list[str]) -> str:
    quality, m = results["quality"], results["machine"]
    misses = held_out_misses(quality)
    lines = [
        "# NLU results: four models side by side",
        "",
        f"Written by `make bench` (bench/comparison.py) on {m['date']}: {m['cores']} cores, {m['arch']}. "
        "The same figures are in `docs/benchmarks.md`, raw numbers in `nlu-results.json`. Other NLU reports: "
        "`docs/nlu-unseen.md` (the Makegood model on the independent set with every miss; written by `make test`) "
        "and `var/nlu-heldout.md` (the Makegood model on the older held-out set, per intent; written by `make "
        "test`, not committed). The cross-validation section at the end is written by hand from "
        "`scripts/nlu_cv.py`'s output and kept by every rewrite."
        + (" **This was a smoke run on a sample of each set.**" if results.get("smoke") else ""),
        "",
        *section(quality, results.get("conversations") or {}, charts),
        "## Per situation on the older held-out set (precision / recall / **F1**)",
        "",
        *per_situation_table(quality, "held_out"),
        "",
        f"## Makegood's misses on the older held-out set ({len(misses)})",
        "",
        "| text | expected | predicted |",
        "|---|---|---|",
        *(f"| {_cell(x['text'])} | {x['expected']} | {_cell(x['predicted'])} |" for x in misses),
        "",
    ]
    kept = kept_cv_section()
    return "\n".join(lines) + ("\n" + kept if kept else "")
