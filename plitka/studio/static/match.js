// Plitka Pro studio: reverse match (docs/match.md). A colour -> the nearest 2- and 3-colour mixes from
// /api/match, each with its mean look and ΔE2000; "Use this mix" puts it into the shares above.
"use strict";

Object.assign(TEXT.en, {
  matchHeading: "Match a colour", matchColour: "Target colour", matchFind: "Find mixes",
  matchHint: "The mixes whose look from a step away is nearest to this colour.",
  matchUse: "Use this mix", matchRow: "{mix} · ΔE2000 {d}", matchLook: "Mean look of {mix}",
});
Object.assign(TEXT.ru, {
  matchHeading: "Подбор по цвету", matchColour: "Целевой цвет", matchFind: "Подобрать смеси",
  matchHint: "Смеси, которые издали ближе всего к этому цвету.",
  matchUse: "Взять эту смесь", matchRow: "{mix} · ΔE2000 {d}", matchLook: "Средний вид смеси {mix}",
});

function buildMatchPanel() {
  const panel = $("match-panel");
  panel.replaceChildren(
    el("h2", { id: "match-heading", "data-i18n": "matchHeading", text: t("matchHeading") }),
    el("p", { id: "match-hint", className: "hint", "data-i18n": "matchHint", text: t("matchHint") }),
    el("div", { className: "field" }, [
      el("label", { for: "match-target", "data-i18n": "matchColour", text: t("matchColour") }),
      el("div", { className: "row" }, [
        el("input", { id: "match-target", type: "color", value: "#8a3b2c", "aria-describedby": "match-hint target-error" }),
        el("button", { type: "button", id: "match-find", "data-i18n": "matchFind", text: t("matchFind") }),
      ]),
      el("p", { id: "target-error", className: "field-error", role: "alert", hidden: true }),
    ]),
    el("ol", { id: "match-results", className: "match-results" }),
  );
  $("match-find").addEventListener("click", findMixes);
}

async function findMixes() {
  $("target-error").hidden = true;
  const target = $("match-target").value.replace("#", "");
  try {
    const found = await api("GET", `/api/match?target=${encodeURIComponent(target)}&count=5`);
    $("match-results").replaceChildren(...found.mixes.map(matchRow));
  } catch (error) {
    $("target-error").textContent = error.message || String(error);
    $("target-error").hidden = false;
  }
}

function matchRow(found) {
  const use = el("button", { type: "button", className: "match-use", text: t("matchUse") });
  use.addEventListener("click", () => {
    state.selected = Object.entries(found.shares).map(([code, share]) => ({ code, units: Math.round(share * 2) }));
    renderPickers();
    $("shares-heading").scrollIntoView({ block: "nearest" });
  });
  return el("li", { "data-mix": found.mix }, [
    el("span", { className: "match-look", role: "img", "aria-label": t("matchLook", { mix: found.mix }), style: `background:${found.look}` }),
    el("span", { text: t("matchRow", { mix: found.mix, d: found.delta_e2000.toFixed(2) }) }), use,
  ]);
}

buildMatchPanel();
