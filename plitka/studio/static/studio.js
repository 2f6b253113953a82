// Plitka Pro studio: plain JavaScript, no build step, no library. Talks only to the studio server
// (/api/...), which proxies the product's own API.
"use strict";

const TEXT = {
  en: {
    skip: "Skip to the Generate button", title: "Plitka Pro studio", palette: "Palette",
    paletteHint: "Pick 1 to 4 colours.", shares: "Shares",
    sharesHint: "Linked: they always total 100%, in steps of 0.5.", settings: "Settings",
    angle: "Angle, degrees", quality: "Quality", seed: "Seed", newVariant: "New variant",
    seedHint: "Same seed, same picture; -1 picks one.", image: "Photo to re-colour (optional)",
    generate: "Generate", api: "API:", result: "Result", downloadImage: "Download the picture",
    downloadReport: "Download the report", recent: "Recent tiles",
    recentHint: "Tick two to compare them side by side.", total: "Total: {n}%",
    shareOf: "Share of {name}, %", remove: "Remove {name}", noColours: "No colour picked yet.",
    atMost: "At most 4 colours: remove one first.", pickOne: "colors: pick at least one colour",
    starting: "Sending…", queued: "Waiting for the server…", waitingPreview: "Drawing the exact preview…",
    waitingFinal: "Preview ready. Rendering the final picture…", waitingMap: "Final ready. Colour map and measurement…",
    step: "step {a} of {b}", seconds: "{s} s", done: "Done in {s} s.", failed: "Failed.", canceled: "Cancelled.",
    preview: "Preview (the exact layout)", final: "Final picture", colormap: "Colour map",
    chartCaption: "Measured against ordered, %", colour: "Colour", ordered: "Ordered", measured: "Measured",
    timing: "Preview on screen {p} s after the click; final {f} s.", compare: "Compare",
    qualityNames: { preview: "preview (fastest)", standard: "standard", high: "high" },
    imageTooLarge: "image: the photo is over 15 MB", loadFailed: "The studio could not reach the API: {e}",
  },
  ru: {
    skip: "Перейти к кнопке «Создать»", title: "Студия Plitka Pro", palette: "Палитра",
    paletteHint: "Выберите от 1 до 4 цветов.", shares: "Доли",
    sharesHint: "Связаны: в сумме всегда 100%, шаг 0,5.", settings: "Параметры",
    angle: "Угол, градусы", quality: "Качество", seed: "Зерно (seed)", newVariant: "Новый вариант",
    seedHint: "То же зерно — та же картинка; -1 выбирает само.", image: "Фото для перекраски (необязательно)",
    generate: "Создать", api: "API:", result: "Результат", downloadImage: "Скачать картинку",
    downloadReport: "Скачать отчёт", recent: "Недавние плитки",
    recentHint: "Отметьте две, чтобы сравнить их рядом.", total: "Итого: {n}%",
    shareOf: "Доля цвета «{name}», %", remove: "Убрать «{name}»", noColours: "Цвет ещё не выбран.",
    atMost: "Не больше 4 цветов: сначала уберите один.", pickOne: "colors: выберите хотя бы один цвет",
    starting: "Отправка…", queued: "Ждём сервер…", waitingPreview: "Рисуем точное превью…",
    waitingFinal: "Превью готово. Рисуем итоговую картинку…", waitingMap: "Картинка готова. Карта цветов и замер…",
    step: "шаг {a} из {b}", seconds: "{s} с", done: "Готово за {s} с.", failed: "Ошибка.", canceled: "Отменено.",
    preview: "Превью (точная раскладка)", final: "Итоговая картинка", colormap: "Карта цветов",
    chartCaption: "Замер против заказа, %", colour: "Цвет", ordered: "Заказано", measured: "Измерено",
    timing: "Превью на экране через {p} с после нажатия; итог через {f} с.", compare: "Сравнить",
    qualityNames: { preview: "превью (быстрее всего)", standard: "стандартное", high: "высокое" },
    imageTooLarge: "image: фото больше 15 МБ", loadFailed: "Студия не достучалась до API: {e}",
  },
};
const HALF_POINTS = 200; // shares are kept in half-points: 100% = 200
const MAX_COLOURS = 4;
const MAX_IMAGE_BYTES = 15 * 1024 * 1024;
const FIELDS_BY_INPUT = { colors: "colors", params_json: "colors", angle: "angle", quality: "quality", seed: "seed", image: "image" };

const state = {
  lang: "en", palette: [], byCode: {}, inputs: {}, selected: [], imageReading: null,
  current: null, recent: [], compared: [], clickAt: null, maxSeed: 2147483647,
};
// What the browser tests and bench/studio.py read: per prediction, click->preview/final on screen (ms).
window.studio = { timings: [], events: [] };

const $ = (id) => document.getElementById(id);
const format = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key]);
const t = (key, values = {}) => format(TEXT[state.lang][key], values);
const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("aria-") || key.startsWith("data-") || key === "for") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
};
const colourName = (code) => {
  const colour = state.byCode[code];
  const name = state.lang === "ru" ? colour.name_ru : colour.name_en;
  return name.charAt(0).toUpperCase() + name.slice(1);
};
const percent = (halfPoints) => (halfPoints / 2).toLocaleString(state.lang, { maximumFractionDigits: 1 });

// --- shares: integers in half-points that always sum to HALF_POINTS -------------------------------

function scaleTo(weights, total) {
  // Largest remainder: shares proportional to `weights`, whole half-points, summing to `total`.
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : total / weights.length));
  const floors = exact.map(Math.floor);
  let left = total - floors.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - floors[i], i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) { if (left <= 0) break; floors[i] += 1; left -= 1; }
  return floors;
}

function setShare(index, halfPoints) {
  const chosen = state.selected;
  if (chosen.length === 1) { chosen[0].units = HALF_POINTS; return; }
  window.order?.edited();
  const units = Math.min(HALF_POINTS, Math.max(0, Math.round(halfPoints)));
  const others = chosen.filter((_, i) => i !== index);
  const rest = scaleTo(others.map((c) => c.units), HALF_POINTS - units);
  others.forEach((c, i) => { c.units = rest[i]; });
  chosen[index].units = units;
}

function toggleColour(code) {
  clearErrors();
  window.order?.edited();
  const at = state.selected.findIndex((c) => c.code === code);
  if (at >= 0) {
    state.selected.splice(at, 1);
  } else if (state.selected.length >= MAX_COLOURS) {
    showError("palette", t("atMost"));
    return;
  } else {
    state.selected.push({ code, units: 0 });
    const even = scaleTo(state.selected.map(() => 1), HALF_POINTS);
    state.selected.forEach((c, i) => { c.units = even[i]; });
    return renderPickers();
  }
  const kept = scaleTo(state.selected.map((c) => c.units), HALF_POINTS);
  state.selected.forEach((c, i) => { c.units = kept[i]; });
  renderPickers();
}

function mixText() {
  return window.order?.mixText() ?? state.selected.map((c) => `${c.units / 2}% ${c.code}`).join(", ");
}

// --- rendering the form ---------------------------------------------------------------------------

function renderPalette() {
  const box = $("palette");
  box.replaceChildren(...state.palette.map((colour) => {
    const pressed = state.selected.some((c) => c.code === colour.code);
    const button = el("button", { type: "button", className: "swatch", "aria-pressed": String(pressed), "data-code": colour.code }, [
      el("img", { src: `/api/swatches/${colour.code}.png`, alt: "", width: 120, height: 72 }),
      el("span", { className: "code", text: colour.code }),
      el("span", { className: "name", text: colourName(colour.code) }),
    ]);
    button.addEventListener("click", () => toggleColour(colour.code));
    return button;
  }));
}

function renderShares() {
  const box = $("shares");
  if (!state.selected.length) {
    box.replaceChildren(el("p", { className: "hint", text: t("noColours") }));
  } else {
    box.replaceChildren(...state.selected.map((chosen, index) => shareRow(chosen, index)));
  }
  const total = state.selected.reduce((a, c) => a + c.units, 0);
  $("shares-total").textContent = state.selected.length ? t("total", { n: percent(total) }) : "";
  window.order?.afterShares(); // parts mode (order.js)
}

function shareRow(chosen, index) {
  const name = colourName(chosen.code);
  const single = state.selected.length === 1;
  const label = t("shareOf", { name });
  const chip = el("span", { className: "chip", "aria-hidden": "true" });
  chip.style.background = state.byCode[chosen.code].hex;
  const slider = el("input", { type: "range", min: 0, max: 100, step: 0.5, value: chosen.units / 2, disabled: single,
    id: `share-range-${chosen.code}`, "aria-label": label, "aria-describedby": "shares-hint colors-error" });
  const number = el("input", { type: "number", min: 0, max: 100, step: 0.5, value: chosen.units / 2, disabled: single,
    id: `share-${chosen.code}`, "aria-label": label, "aria-describedby": "shares-hint colors-error" });
  slider.addEventListener("input", () => { setShare(index, Number(slider.value) * 2); syncShares(); });
  number.addEventListener("change", () => {
    const value = Number(number.value.replace(",", "."));
    if (Number.isFinite(value)) setShare(index, value * 2);
    syncShares();
  });
  const remove = el("button", { type: "button", text: "×", "aria-label": t("remove", { name }) });
  remove.addEventListener("click", () => toggleColour(chosen.code));
  return el("div", { className: "share" }, [
    el("span", {}, [chip, el("span", { text: `${name} `}), remove]), slider, number,
  ]);
}

function syncShares() {
  // Update values in place, so that the slider being dragged keeps its focus.
  for (const chosen of state.selected) {
    const value = String(chosen.units / 2);
    $(`share-range-${chosen.code}`).value = value;
    $(`share-${chosen.code}`).value = value;
  }
  const total = state.selected.reduce((a, c) => a + c.units, 0);
  $("shares-total").textContent = t("total", { n: percent(total) });
}

function renderPickers() { renderPalette(); renderShares(); }

function renderSettings() {
  const angle = state.inputs.angle || {};
  fillSelect($("angle"), angle.enum || [0], angle.default ?? 0, (v) => `${v}°`);
  const quality = state.inputs.quality || {};
  fillSelect($("quality"), quality.enum || ["standard"], quality.default ?? "standard", (v) => TEXT[state.lang].qualityNames[v] || v);
  const seed = state.inputs.seed || {};
  state.maxSeed = seed.maximum ?? state.maxSeed;
  $("seed").min = seed.minimum ?? -1;
  $("seed").max = state.maxSeed;
}

function fillSelect(select, values, fallback, label) {
  const chosen = select.value || String(fallback);
  select.replaceChildren(...values.map((v) => el("option", { value: String(v), text: label(v) })));
  select.value = chosen;
}

function applyLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
  $("lang-ru").setAttribute("aria-pressed", String(lang === "ru"));
  try { localStorage.setItem("plitka-studio-lang", lang); } catch { /* private mode */ }
  if (!state.palette.length) return;
  renderPickers();
  renderSettings();
  if (state.current) renderPrediction(state.current);
  renderRecent();
  window.order?.render();
}

// --- errors beside their fields -------------------------------------------------------------------

function showError(field, message) {
  const target = $(`${field}-error`) ? field : "form";
  const box = $(`${target}-error`);
  box.textContent = message;
  box.hidden = false;
  const input = { seed: "seed", angle: "angle", quality: "quality", image: "image" }[target];
  if (input) $(input).setAttribute("aria-invalid", "true");
}

function clearErrors() {
  for (const box of document.querySelectorAll(".field-error")) { box.hidden = true; box.textContent = ""; }
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showApiError(error) {
  window.studio.events.push({ kind: "error", field: error.field, at: performance.now() });
  showError(FIELDS_BY_INPUT[error.field] || "form", error.message);
}

// --- a prediction ---------------------------------------------------------------------------------

async function generate(event) {
  event.preventDefault();
  clearErrors();
  const clickAt = state.clickAt ?? performance.now();
  state.clickAt = null;
  if (!state.selected.length) return showError("colors", t("pickOne"));
  const input = { colors: mixText(), angle: Number($("angle").value), quality: $("quality").value, seed: seedValue() };
  const image = await state.imageReading;
  if (image) input.image = image;
  if (window.sceneInputs) Object.assign(input, await window.sceneInputs()); // scene.js
  let ticking = null;
  $("generate").disabled = true;
  $("downloads").hidden = true;
  $("colormap").hidden = true;
  $("chart").replaceChildren();
  $("timing").textContent = "";
  setProgress(t("starting"), 0);
  try {
    let prediction = await api("POST", "/api/predictions", { input });
    const seen = { clickAt, shown: {}, answeredAt: performance.now() };
    state.current = { prediction, input, seen };
    renderPrediction(state.current);
    ticking = setInterval(() => renderPrediction(state.current), 1000); // the seconds keep counting
    while (!["succeeded", "failed", "canceled"].includes(prediction.status)) {
      prediction = await api("GET", `/api/predictions/${prediction.id}?after=${prediction.version}`);
      state.current.prediction = prediction;
      renderPrediction(state.current);
    }
  } catch (error) {
    $("progress-box").hidden = true;
    showApiError(error.field !== undefined ? error : { field: null, message: String(error) });
  } finally {
    clearInterval(ticking);
    $("generate").disabled = false;
  }
}

function seedValue() {
  const text = $("seed").value.trim();
  if (text === "") return -1;
  const value = Number(text);
  return Number.isFinite(value) ? value : text; // the API says what is wrong with it
}

async function api(method, url, body) {
  const response = await fetch(url, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json().catch(() => ({ error: { field: null, message: `HTTP ${response.status}` } }));
  if (!response.ok) throw answer.error || { field: null, message: `HTTP ${response.status}` };
  return answer;
}

function setProgress(text, fraction) {
  $("progress-box").hidden = false;
  $("progress-text").textContent = text;
  if (fraction === null) $("progress").removeAttribute("value");
  else $("progress").value = Math.round(fraction * 100);
}

function renderPrediction(current) {
  const { prediction, seen } = current;
  const outputs = Object.fromEntries(prediction.outputs.map((o) => [o.kind, o]));
  const terminal = ["succeeded", "failed", "canceled"].includes(prediction.status);
  if (terminal && seen.endedAt === undefined) seen.endedAt = performance.now();
  const seconds = ((seen.endedAt ?? performance.now()) - seen.clickAt) / 1000;
  const elapsed = t("seconds", { s: seconds.toLocaleString(state.lang, { maximumFractionDigits: 0 }) });
  if (prediction.status === "failed" || prediction.status === "canceled") {
    setProgress(t(prediction.status), 1);
    if (prediction.error && !seen.errorShown) { seen.errorShown = true; showApiError(prediction.error); }
  } else if (prediction.status === "succeeded") {
    setProgress(t("done", { s: seconds.toLocaleString(state.lang, { maximumFractionDigits: 2 }) }), 1);
  } else {
    const count = prediction.outputs.length;
    const stage = [t(prediction.status === "starting" ? "queued" : "waitingPreview"), t("waitingFinal"), t("waitingMap"), t("waitingMap")][count] ?? t("waitingScene");
    const step = prediction.progress ? ` (${t("step", { a: prediction.progress.step, b: prediction.progress.steps })})` : "";
    const inFinal = count === 1 && prediction.progress ? prediction.progress.step / prediction.progress.steps : 0;
    setProgress(`${stage}${step} · ${elapsed}`, Math.min(1, (count + inFinal) / 4));
  }
  for (const kind of ["preview", "final"]) if (outputs[kind]) showPicture(outputs[kind], seen, prediction.id);
  if (outputs.colormap) showOnce("colormap", outputs.colormap.url, seen, "colormap");
  if (outputs.report && !seen.report) { seen.report = true; loadReport(current, outputs); }
  else if (seen.reportData) renderChart(seen.reportData);
  const shownKind = $("result-image").dataset.kind;
  if (shownKind) $("result-caption").textContent = t(shownKind === "final" ? "final" : "preview");
  $("colormap-caption").textContent = outputs.colormap ? t("colormap") : "";
  if (window.sceneOutputs) window.sceneOutputs(prediction, current.input); // scene.js
}

function showPicture(output, seen, id) {
  // The preview is always painted before the final, even when both arrive in one answer.
  if (seen.shown[output.kind]) return;
  seen.shown[output.kind] = true;
  seen[`${output.kind}KnownAt`] = performance.now();
  const probe = new Image();
  probe.src = output.url;
  const decoded = probe.decode().catch(() => null);
  seen.chain = (seen.chain || Promise.resolve()).then(() => decoded).then(() => new Promise((resolve) => {
    if (state.current.seen !== seen) return resolve(); // a newer prediction took the place meanwhile
    const img = $("result-image");
    img.src = output.url;
    img.alt = `${t(output.kind === "final" ? "final" : "preview")}: ${state.current.input.colors}`;
    img.hidden = false;
    img.dataset.kind = output.kind;
    $("result-caption").textContent = t(output.kind === "final" ? "final" : "preview");
    requestAnimationFrame(() => { markShown(output.kind, seen, id); resolve(); });
  }));
}

function markShown(kind, seen, id) {
  // Called in the frame that first paints the picture: the click->screen time of this prediction.
  let timing = window.studio.timings.find((x) => x.id === id);
  if (!timing) { timing = { id }; window.studio.timings.push(timing); }
  const since = (at) => Math.round((at - seen.clickAt) * 10) / 10;
  timing[kind === "final" ? "clickToFinalMs" : "clickToPreviewMs"] = since(performance.now());
  // Where the time went: the studio accepted the prediction; the page learnt the preview exists.
  timing.clickToAnswerMs = since(seen.answeredAt);
  if (kind === "preview") timing.clickToPreviewKnownMs = since(seen.previewKnownAt);
  window.studio.events.push({ kind, id, at: performance.now() });
  const p = timing.clickToPreviewMs, f = timing.clickToFinalMs;
  if (p !== undefined && f !== undefined) {
    $("timing").textContent = t("timing", { p: (p / 1000).toFixed(2), f: (f / 1000).toFixed(2) });
  }
}

function showOnce(imgId, url, seen, kind) {
  if (seen.shown[kind] === url) return;
  seen.shown[kind] = url;
  const img = $(imgId);
  img.src = url;
  img.alt = `${t("colormap")}: ${state.current.input.colors}`;
  img.hidden = false;
}

async function loadReport(current, outputs) {
  const report = await (await fetch(outputs.report.url)).json();
  current.seen.reportData = report;
  renderChart(report);
  const picture = outputs.final || outputs.preview;
  const stem = `plitka-${current.input.colors.replace(/[^A-Z0-9]+/g, "-").replace(/^-|-$/g, "")}-${report.seed}`;
  $("download-image").href = picture.url;
  $("download-image").download = `${stem}-${picture.name}`;
  $("download-report").href = outputs.report.url;
  $("download-report").download = `${stem}-report.json`;
  $("downloads").hidden = false;
  addRecent({ id: current.prediction.id, colors: current.input.colors, picture: picture.url, report });
  window.order?.onReport(current, report); // the link, the share code, the sheet (order.js)
}

function renderChart(report, box = $("chart")) {
  const rows = Object.entries(report.requested).map(([code, ordered]) => {
    const measured = report.measured[code] ?? 0;
    const bar = (value, kind) => {
      const node = el("span", { className: `bar ${kind}`, "aria-hidden": "true" });
      node.style.width = `${Math.max(0.5, value) * 1.6}px`;
      if (kind === "measured") node.style.background = state.byCode[code].hex;
      return node;
    };
    const cell = (value, kind) => el("td", {}, [bar(value, kind), el("span", { text: value.toLocaleString(state.lang, { maximumFractionDigits: 1 }) })]);
    return el("tr", { "data-code": code }, [el("th", { scope: "row", text: colourName(code) }), cell(ordered, "ordered"), cell(measured, "measured")]);
  });
  box.replaceChildren(el("table", { className: "chart" }, [
    el("caption", { text: t("chartCaption") }),
    el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: t("colour") }), el("th", { scope: "col", text: t("ordered") }), el("th", { scope: "col", text: t("measured") })])]),
    el("tbody", {}, rows),
  ]));
}

// --- recent tiles and comparing two ---------------------------------------------------------------

function addRecent(tile) {
  state.recent = [tile, ...state.recent.filter((x) => x.id !== tile.id)].slice(0, 12);
  renderRecent();
}

function renderRecent() {
  $("recent").replaceChildren(...state.recent.map((tile) => {
    const id = `compare-${tile.id}`;
    const box = el("input", { type: "checkbox", id, checked: state.compared.includes(tile.id) });
    box.addEventListener("change", () => toggleCompare(tile.id, box.checked));
    return el("li", { "data-id": tile.id }, [
      el("img", { src: tile.picture, alt: tile.colors, width: 150, height: 150, loading: "lazy" }),
      el("p", { text: `${tile.colors} · seed ${tile.report.seed} · ${tile.report.angle}°` }),
      el("label", { for: id }, [box, ` ${t("compare")}`]),
    ]);
  }));
  renderCompare();
}

function toggleCompare(id, on) {
  state.compared = state.compared.filter((x) => x !== id);
  if (on) state.compared.push(id);
  if (state.compared.length > 2) state.compared.shift();
  renderRecent();
}

function renderCompare() {
  const tiles = state.compared.map((id) => state.recent.find((x) => x.id === id)).filter(Boolean);
  $("compare").hidden = tiles.length !== 2;
  $("compare").replaceChildren(...(tiles.length === 2 ? tiles.map((tile) => {
    const chart = el("div");
    renderChart(tile.report, chart);
    return el("figure", { "data-id": tile.id }, [
      el("img", { src: tile.picture, alt: tile.colors }),
      el("figcaption", { text: `${tile.colors} · seed ${tile.report.seed} · ${tile.report.angle}°` }), chart,
    ]);
  }) : []));
}

// --- start ----------------------------------------------------------------------------------------

function readImage() {
  const file = $("image").files[0];
  state.imageReading = null;
  clearErrors();
  if (!file) return;
  if (file.size > MAX_IMAGE_BYTES) { $("image").value = ""; return showError("image", t("imageTooLarge")); }
  state.imageReading = new Promise((resolve) => { // Cog takes a file input as a data URL string
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(file);
  });
}

async function start() {
  let saved = null;
  try { saved = localStorage.getItem("plitka-studio-lang"); } catch { /* private mode */ }
  const asked = new URLSearchParams(location.search).get("lang");
  const lang = [asked, saved].find((x) => x in TEXT) || (navigator.language.startsWith("ru") ? "ru" : "en");
  applyLanguage(lang);
  $("lang-en").addEventListener("click", () => applyLanguage("en"));
  $("lang-ru").addEventListener("click", () => applyLanguage("ru"));
  $("studio").addEventListener("submit", generate);
  $("generate").addEventListener("click", (event) => { state.clickAt = event.timeStamp; });
  $("new-variant").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * (state.maxSeed + 1)));
    $("seed").removeAttribute("aria-invalid");
  });
  $("image").addEventListener("change", readImage);
  const config = await loadConfig();
  state.palette = config.palette;
  state.byCode = Object.fromEntries(config.palette.map((c) => [c.code, c]));
  state.inputs = config.inputs;
  $("api-name").textContent = config.api;
  $("image-field").hidden = !config.image_input;
  $("seed").value = "7";
  applyLanguage(state.lang);
  const opened = await window.order?.start(); // a link's request (order.js)
  document.body.dataset.ready = "true";
  if (opened) $("studio").requestSubmit();
}

async function loadConfig() {
  // The API may still be starting (`plitka serve --studio`): say so, and ask again each second.
  for (;;) {
    try {
      const config = await api("GET", "/api/config");
      $("load-error").hidden = true;
      return config;
    } catch (error) {
      $("load-error").textContent = t("loadFailed", { e: error.message || String(error) });
      $("load-error").hidden = false;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

start();
