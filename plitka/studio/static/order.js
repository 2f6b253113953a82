// Plitka Pro studio, from picture to order (issue 33): parts mode (+/- per colour, one-click halves,
// thirds and quarters), the page's URL holding the whole request (a link reopens the same tile),
// the share code, and the spec sheet. Loaded before studio.js, whose globals (state, $, el, t,
// colourName, scaleTo, renderShares, showError, clearErrors) it uses when called; studio.js calls
// window.order.* at a few hooks.
"use strict";

const ORDER_TEXT = {
  en: {
    percentMode: "Percent", partsMode: "Parts", modeLabel: "Give shares as",
    halves: "Halves", thirds: "Thirds", quarters: "Quarters", presetsLabel: "One click",
    fewer: "One part less of {name}", more: "One part more of {name}", partsOf: "Parts of {name}",
    partsTotal: "{n} parts in all = 100%", orderHeading: "Order and spec sheet",
    area: "Area", unit: "Unit", depth: "Wear-course depth, mm", density: "Bulk density, kg/m³",
    binder: "PU binder, % of rubber", wastage: "Wastage, %",
    assumptionsHint: "Typical published values (docs/order.md); change them to your maker's figures.",
    sheet: "Download the spec sheet (PDF)", shareLink: "Link to this tile", shareCode: "Share code",
    copied: "Link copied.", copy: "Copy the link",
  },
  ru: {
    percentMode: "Проценты", partsMode: "Части", modeLabel: "Доли задавать как",
    halves: "Половины", thirds: "Трети", quarters: "Четверти", presetsLabel: "Одним нажатием",
    fewer: "На часть меньше: «{name}»", more: "На часть больше: «{name}»", partsOf: "Частей цвета «{name}»",
    partsTotal: "Всего частей: {n} = 100%", orderHeading: "Заказ и спецификация",
    area: "Площадь", unit: "Единица", depth: "Толщина слоя, мм", density: "Насыпная плотность, кг/м³",
    binder: "Связующее, % от резины", wastage: "Запас на отходы, %",
    assumptionsHint: "Типичные опубликованные значения (docs/order.md); замените данными вашего поставщика.",
    sheet: "Скачать спецификацию (PDF)", shareLink: "Ссылка на эту плитку", shareCode: "Код",
    copied: "Ссылка скопирована.", copy: "Скопировать ссылку",
  },
};
const MAX_PARTS = 99;
const PRESETS = [["halves", 2], ["thirds", 3], ["quarters", 4]];
const ORDER_INPUTS = [ // query name, label key, default, min, max, step
  ["area", "area", "", 0.1, 1076391, "any"], ["depth_mm", "depth", 15, 1, 100, "any"],
  ["bulk_density", "density", 1100, 300, 2000, "any"], ["binder_percent", "binder", 20, 5, 40, "any"],
  ["wastage_percent", "wastage", 5, 0, 50, "any"],
];

const order = {
  parts: null, // code -> count while parts mode is on
  fixedText: null, // the mix text a link opened with, sent as it is until a share changes
  current: null, // { id, report } of the last finished prediction
  sheets: [], // what each sheet download returned, for the browser tests

  ot(key, values = {}) { return format(ORDER_TEXT[state.lang][key], values); },

  // --- the mix text the page sends ---------------------------------------------------------------

  mixText() {
    if (this.fixedText) return this.fixedText;
    if (!this.parts) return null;
    return state.selected.map((c) => `${this.parts[c.code]} ${this.parts[c.code] === 1 ? "part" : "parts"} ${c.code}`).join(", ");
  },

  edited() { this.fixedText = null; }, // a share was changed by hand

  // --- parts mode ------------------------------------------------------------------------------

  setParts(counts) {
    this.fixedText = null;
    this.parts = counts;
    const units = scaleTo(state.selected.map((c) => counts[c.code]), HALF_POINTS);
    state.selected.forEach((c, i) => { c.units = units[i]; });
    renderShares();
  },

  enterParts() {
    // The current shares in the fewest whole parts (at most 12), else snapped to quarters.
    const units = state.selected.map((c) => c.units);
    const divisor = units.reduce((a, b) => gcd(a, b), 0) || 1;
    const reduced = units.map((u) => u / divisor);
    const counts = reduced.reduce((a, b) => a + b, 0) <= 12 ? reduced : snapParts(units, Math.max(4, units.length));
    this.setParts(Object.fromEntries(state.selected.map((c, i) => [c.code, counts[i]])));
  },

  preset(denominator) {
    const counts = snapParts(state.selected.map((c) => c.units), denominator);
    this.setParts(Object.fromEntries(state.selected.map((c, i) => [c.code, counts[i]])));
  },

  step(code, by) {
    const next = Math.min(MAX_PARTS, Math.max(1, this.parts[code] + by));
    this.setParts({ ...this.parts, [code]: next });
    $(`parts-${by > 0 ? "more" : "fewer"}-${code}`)?.focus();
  },

  afterShares() {
    // Called at the end of studio.js's renderShares: the mode switch, presets, and the parts rows.
    if (this.parts) {
      const counts = Object.fromEntries(state.selected.map((c) => [c.code, this.parts[c.code] ?? 1]));
      this.parts = state.selected.length ? counts : null;
    }
    $("shares-hint").hidden = Boolean(this.parts); // "linked sliders" does not describe parts
    if (this.parts) {
      const units = scaleTo(state.selected.map((c) => this.parts[c.code]), HALF_POINTS);
      state.selected.forEach((c, i) => { c.units = units[i]; });
      this.renderPartsRows();
    }
    this.renderTools();
  },

  renderTools() {
    const box = $("parts-tools");
    if (!box) return;
    const mode = (key, on, action) => {
      const button = el("button", { type: "button", id: `mode-${key}`, text: this.ot(`${key}Mode`), "aria-pressed": String(on) });
      button.addEventListener("click", action);
      return button;
    };
    const presets = PRESETS.map(([key, denominator]) => {
      const button = el("button", { type: "button", id: `preset-${denominator}`, text: this.ot(key),
        disabled: state.selected.length < 2 || state.selected.length > denominator });
      button.addEventListener("click", () => this.preset(denominator));
      return button;
    });
    box.replaceChildren(
      el("div", { className: "row", role: "group", "aria-label": this.ot("modeLabel") }, [
        mode("percent", !this.parts, () => { this.edited(); this.parts = null; renderShares(); }),
        mode("parts", Boolean(this.parts), () => { if (!this.parts && state.selected.length) this.enterParts(); }),
      ]),
      el("div", { className: "row", role: "group", "aria-label": this.ot("presetsLabel") }, presets),
    );
  },

  renderPartsRows() {
    const total = state.selected.reduce((a, c) => a + this.parts[c.code], 0);
    $("shares").replaceChildren(...state.selected.map((chosen) => {
      const code = chosen.code;
      const name = colourName(code);
      const chip = el("span", { className: "chip", "aria-hidden": "true" });
      chip.style.background = state.byCode[code].hex;
      const fewer = el("button", { type: "button", id: `parts-fewer-${code}`, text: "−", disabled: this.parts[code] <= 1,
        "aria-label": this.ot("fewer", { name }) });
      const more = el("button", { type: "button", id: `parts-more-${code}`, text: "+", disabled: this.parts[code] >= MAX_PARTS,
        "aria-label": this.ot("more", { name }) });
      fewer.addEventListener("click", () => this.step(code, -1));
      more.addEventListener("click", () => this.step(code, 1));
      const share = (100 * this.parts[code]) / total;
      return el("div", { className: "share parts", "data-code": code }, [
        el("span", {}, [chip, el("span", { text: name })]),
        el("span", { className: "row" }, [
          fewer, el("output", { id: `parts-${code}`, text: String(this.parts[code]), "aria-label": this.ot("partsOf", { name }) }), more,
        ]),
        el("span", { id: `parts-share-${code}`, text: `${share.toLocaleString(state.lang, { maximumFractionDigits: 1 })}%` }),
      ]);
    }));
    $("shares-total").textContent = this.ot("partsTotal", { n: total });
  },

  // --- the order panel, the share link and the sheet ----------------------------------------------------

  render() {
    const box = $("order");
    if (!box) return;
    const kept = Object.fromEntries(ORDER_INPUTS.map(([name]) => [name, $(`order-${name}`)?.value]));
    const unit = $("order-area_unit")?.value || "m2";
    const field = ([name, key, value, min, max, step]) => el("div", { className: "field" }, [
      el("label", { for: `order-${name}`, text: this.ot(key) }),
      el("input", { id: `order-${name}`, type: "number", min, max, step, value: kept[name] ?? value, inputmode: "decimal",
        "aria-describedby": `order-error` }),
    ]);
    const unitSelect = el("select", { id: "order-area_unit" }, ["m2", "ft2"].map((u) => el("option", { value: u, text: u === "m2" ? "m²" : "ft²" })));
    unitSelect.value = unit;
    const sheet = el("button", { type: "button", id: "sheet", text: this.ot("sheet"), disabled: !this.current });
    sheet.addEventListener("click", () => this.downloadSheet());
    const copy = el("button", { type: "button", id: "copy-link", text: this.ot("copy"), disabled: !this.current });
    copy.addEventListener("click", () => this.copyLink());
    box.replaceChildren(
      el("h2", { id: "order-heading", text: this.ot("orderHeading") }),
      el("div", { className: "order-grid" }, [
        field(ORDER_INPUTS[0]),
        el("div", { className: "field" }, [el("label", { for: "order-area_unit", text: this.ot("unit") }), unitSelect]),
        ...ORDER_INPUTS.slice(1).map(field),
      ]),
      el("p", { className: "hint", text: this.ot("assumptionsHint") }),
      el("p", { id: "order-error", className: "field-error", role: "alert", hidden: true }),
      sheet,
      el("p", {}, [el("span", { text: `${this.ot("shareLink")}: ` }), el("a", { id: "share-link", href: this.link() || "#", text: this.link() || "—" }), " ", copy]),
      el("p", {}, [el("span", { text: `${this.ot("shareCode")}: ` }), el("code", { id: "share-code", text: this.current?.code || "—" })]),
      el("p", { id: "copy-status", className: "hint", "aria-live": "polite" }),
    );
  },

  link() {
    if (!this.current) return null;
    return `${location.origin}/?${this.current.query}`;
  },

  async onReport(current, report) {
    // A prediction finished: its request, with the seed it used, goes into the page's URL.
    const input = current.input;
    const query = new URLSearchParams({ colors: input.colors, angle: String(report.angle), seed: String(report.seed), quality: report.quality });
    const lang = new URLSearchParams(location.search).get("lang");
    if (lang) query.set("lang", lang);
    history.replaceState(null, "", `/?${query}`);
    let code = null;
    try { code = (await api("GET", `/api/share?${query}`)).code; } catch { /* shares the link without a code */ }
    this.current = { id: current.prediction.id, report, query: String(query), code };
    this.render();
  },

  async downloadSheet() {
    const params = new URLSearchParams();
    for (const [name] of ORDER_INPUTS) {
      const value = $(`order-${name}`).value.trim().replace(",", ".");
      if (value !== "") params.set(name, value);
    }
    params.set("area_unit", $("order-area_unit").value);
    const box = $("order-error");
    box.hidden = true;
    const response = await fetch(`/api/predictions/${this.current.id}/sheet.pdf?${params}`);
    if (!response.ok) {
      const answer = await response.json().catch(() => ({ error: { message: `HTTP ${response.status}` } }));
      this.sheets.push({ ok: false, error: answer.error });
      box.textContent = answer.error.message;
      box.hidden = false;
      return;
    }
    const blob = await response.blob();
    this.sheets.push({ ok: true, type: blob.type, size: blob.size, url: response.url });
    const a = el("a", { href: URL.createObjectURL(blob), download: `plitka-${this.current.code || this.current.id}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
  },

  async copyLink() {
    try { await navigator.clipboard.writeText(this.link()); $("copy-status").textContent = this.ot("copied"); } catch { /* no clipboard: the link is shown */ }
  },

  // --- opening a link ------------------------------------------------------------------------------

  async start() {
    // Called by studio.js once the palette is known: a link's request fills the form and is generated.
    const asked = new URLSearchParams(location.search);
    this.render();
    if (!asked.has("code") && !asked.has("colors")) return false;
    const query = new URLSearchParams();
    for (const key of ["code", "colors", "angle", "seed", "quality"]) if (asked.has(key)) query.set(key, asked.get(key));
    let request;
    try {
      request = await api("GET", `/api/share?${query}`);
    } catch (error) {
      showError(error.field === "seed" ? "seed" : "colors", error.message || String(error));
      return false;
    }
    const codes = Object.keys(request.mix);
    const units = scaleTo(Object.values(request.mix), HALF_POINTS);
    state.selected = codes.map((code, i) => ({ code, units: units[i] }));
    const parts = partsOf(asked.get("colors") || "", codes);
    this.parts = parts;
    this.fixedText = parts ? null : codes.map((code) => `${request.mix[code]}% ${code}`).join(", ");
    $("angle").value = String(request.angle);
    $("quality").value = request.quality;
    $("seed").value = String(request.seed);
    renderPickers();
    return true;
  },
};
window.order = order;

function gcd(a, b) { return b ? gcd(b, a % b) : a; }

function snapParts(units, denominator) {
  // Shares as whole parts of `denominator`, each colour at least one part.
  const counts = scaleTo(units, denominator).map((n) => Math.max(1, n));
  while (counts.reduce((a, b) => a + b, 0) > denominator) counts[counts.indexOf(Math.max(...counts))] -= 1;
  return counts;
}

function partsOf(text, codes) {
  // The page's own parts text ('2 parts RED, 1 part WHITE') back into counts; null for any other text.
  const counts = {};
  const pieces = text.split(", ");
  if (pieces.length !== codes.length) return null;
  for (const [i, piece] of pieces.entries()) {
    const match = /^(\d{1,2}) parts? ([A-Z]{1,12})$/.exec(piece);
    if (!match || match[2] !== codes[i]) return null;
    counts[match[2]] = Number(match[1]);
  }
  return counts;
}
