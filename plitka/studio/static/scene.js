// Plitka Pro studio: the floor in place (docs/scene.md). A scene to lay the surface in, or the
// customer's own photo with four corners dragged onto its floor area. Kept apart from studio.js, which
// calls two hooks: window.sceneInputs() while building a request, window.sceneOutputs() on each update.
"use strict";

Object.assign(TEXT.en, {
  sceneHeading: "The floor in place", scene: "Scene",
  sceneNames: { none: "none", playground: "playground", gym: "gym", terrace: "terrace" },
  roomPhoto: "Your own photo (optional)", roomHint: "Drag the four corners onto the floor area.",
  roomWidth: "Width of that area, m", corner: "Corner: {name}",
  cornerNames: ["far left", "far right", "near right", "near left"],
  sceneCaption: "Scene: {name}", roomCaption: "Your photo with the surface",
  waitingScene: "Laying the surface in place…", roomTooLarge: "room_photo: the photo is over 15 MB",
});
Object.assign(TEXT.ru, {
  sceneHeading: "Покрытие на месте", scene: "Сцена",
  sceneNames: { none: "нет", playground: "детская площадка", gym: "спортзал", terrace: "терраса" },
  roomPhoto: "Своё фото (необязательно)", roomHint: "Перетащите четыре угла на границы пола.",
  roomWidth: "Ширина этого участка, м", corner: "Угол: {name}",
  cornerNames: ["дальний левый", "дальний правый", "ближний правый", "ближний левый"],
  sceneCaption: "Сцена: {name}", roomCaption: "Ваше фото с покрытием",
  waitingScene: "Укладываем покрытие на место…", roomTooLarge: "room_photo: фото больше 15 МБ",
});
Object.assign(FIELDS_BY_INPUT, { scene: "scene", room_photo: "room_photo", room_corners: "room_corners", room_width_m: "room_width_m" });

const START_CORNERS = [[0.3, 0.55], [0.7, 0.55], [0.95, 0.95], [0.05, 0.95]]; // fractions of the photo
const room = { reading: null, size: null, corners: START_CORNERS.map((c) => [...c]), shown: "" };

function sceneField(id, labelKey, control, extra = []) {
  return el("div", { className: "field" }, [
    el("label", { for: id, "data-i18n": labelKey, text: t(labelKey) }), control, ...extra,
    el("p", { id: `${id}-error`, className: "field-error", role: "alert", hidden: true }),
  ]);
}

function buildSceneFields() {
  const box = $("scene-fields");
  const select = el("select", { id: "scene", name: "scene", "aria-describedby": "scene-error" });
  const photo = el("input", {
    id: "room_photo", name: "room_photo", type: "file", accept: "image/png,image/jpeg,image/webp",
    "aria-describedby": "room-hint room_photo-error",
  });
  const board = el("div", { id: "room-board", className: "room-board", hidden: true }, [
    el("img", { id: "room-image", alt: "" }),
    svgQuad(),
    ...START_CORNERS.map((_, index) => el("button", { type: "button", className: "corner", "data-corner": String(index) })),
  ]);
  const width = el("input", {
    id: "room_width_m", name: "room_width_m", type: "number", step: "0.5", min: "0.5", max: "50", value: "3",
    "aria-describedby": "room_width_m-error",
  });
  box.replaceChildren(
    el("h3", { "data-i18n": "sceneHeading", text: t("sceneHeading") }),
    sceneField("scene", "scene", select),
    sceneField("room_photo", "roomPhoto", photo, [
      el("p", { id: "room-hint", className: "hint", "data-i18n": "roomHint", text: t("roomHint") }), board,
      el("p", { id: "room_corners-error", className: "field-error", role: "alert", hidden: true }),
    ]),
    sceneField("room_width_m", "roomWidth", width),
  );
  photo.addEventListener("change", readRoomPhoto);
  for (const handle of board.querySelectorAll(".corner")) dragCorner(handle);
  new ResizeObserver(placeCorners).observe(board);
}

function svgQuad() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "room-quad");
  svg.setAttribute("aria-hidden", "true");
  const polygon = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
  polygon.id = "room-polygon";
  svg.append(polygon);
  return svg;
}

function renderSceneTexts() {
  const select = $("scene");
  if (!select) return;
  const spec = state.inputs.scene || {};
  fillSelect(select, spec.enum || ["none"], spec.default ?? "none", (v) => TEXT[state.lang].sceneNames[v] || v);
  for (const handle of document.querySelectorAll("#room-board .corner")) {
    handle.setAttribute("aria-label", t("corner", { name: TEXT[state.lang].cornerNames[Number(handle.dataset.corner)] }));
  }
}

function readRoomPhoto() {
  const file = $("room_photo").files[0];
  room.reading = null;
  $("room-board").hidden = true;
  if (!file) return;
  if (file.size > MAX_IMAGE_BYTES) { $("room_photo").value = ""; return showError("room_photo", t("roomTooLarge")); }
  room.reading = new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => {
      const image = $("room-image");
      image.onload = () => {
        room.size = [image.naturalWidth, image.naturalHeight];
        room.corners = START_CORNERS.map((c) => [...c]);
        $("room-board").hidden = false;
        placeCorners();
        resolve(reader.result);
      };
      image.onerror = () => resolve(reader.result); // the server says what is wrong with it
      image.src = reader.result;
    };
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(file);
  });
}

function placeCorners() {
  const image = $("room-image");
  const width = image.clientWidth, height = image.clientHeight;
  document.querySelectorAll("#room-board .corner").forEach((handle, index) => {
    handle.style.left = `${room.corners[index][0] * width}px`;
    handle.style.top = `${room.corners[index][1] * height}px`;
  });
  $("room-polygon").setAttribute("points", room.corners.map(([x, y]) => `${x * width},${y * height}`).join(" "));
  $("room-polygon").parentNode.setAttribute("viewBox", `0 0 ${width} ${height}`);
}

function dragCorner(handle) {
  const index = Number(handle.dataset.corner);
  const moveTo = (x, y) => {
    room.corners[index] = [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
    placeCorners();
  };
  handle.addEventListener("pointerdown", (event) => {
    handle.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  handle.addEventListener("pointermove", (event) => {
    if (!handle.hasPointerCapture(event.pointerId)) return;
    const box = $("room-image").getBoundingClientRect();
    moveTo((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
  });
  handle.addEventListener("keydown", (event) => { // the keyboard moves a corner by 1% of the photo
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (!step) return;
    event.preventDefault();
    moveTo(room.corners[index][0] + step[0] / 100, room.corners[index][1] + step[1] / 100);
  });
}

// The request's scene inputs: only those that differ from the form's defaults.
window.sceneInputs = async () => {
  const input = {};
  if (!$("scene") || !("scene" in state.inputs)) return input;
  if ($("scene").value !== "none") input.scene = $("scene").value;
  const photo = await room.reading;
  if (photo) {
    input.room_photo = photo;
    const [width, height] = room.size || [0, 0];
    input.room_corners = room.corners.map(([x, y]) => `${Math.round(x * width)},${Math.round(y * height)}`).join(",");
    const metres = Number($("room_width_m").value);
    input.room_width_m = Number.isFinite(metres) && $("room_width_m").value.trim() !== "" ? metres : $("room_width_m").value;
  }
  return input;
};

// Outputs after the usual four: the scene first (if asked), then the room photo (if sent).
window.sceneOutputs = (prediction, input) => {
  const box = $("scene-results");
  if (!box) return;
  const extra = prediction.outputs.slice(4);
  const key = `${prediction.id}:${extra.length}:${state.lang}`;
  if (room.shown === key) return; // drawn already: the page re-renders every second while it waits
  room.shown = key;
  const kinds = [...(input.scene ? ["scene"] : []), ...(input.room_photo ? ["room"] : [])];
  box.replaceChildren(...extra.map((output, index) => {
    const kind = kinds[index] || "scene";
    const caption = kind === "room" ? t("roomCaption") : t("sceneCaption", { name: TEXT[state.lang].sceneNames[input.scene] || input.scene });
    return el("figure", { "data-kind": kind }, [
      el("img", { id: `${kind}-result`, src: output.url, alt: caption }), el("figcaption", { text: caption }),
    ]);
  }));
};

function startScene() {
  buildSceneFields();
  const ready = () => {
    $("scene-fields").hidden = !("scene" in state.inputs);
    $("room_photo").closest(".field").hidden = !("room_photo" in state.inputs);
    renderSceneTexts();
  };
  new MutationObserver(() => { if (document.body.dataset.ready === "true") ready(); })
    .observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
  for (const id of ["lang-en", "lang-ru"]) $(id).addEventListener("click", () => setTimeout(renderSceneTexts));
}

startScene();
