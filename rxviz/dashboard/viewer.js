// The radiograph viewer: two panes (the radiograph, the heatmap over it) locked together.
// Zoom, pan, window/level and the heatmap's opacity are redrawn here in the browser from the
// full-resolution pixels the kernel sent once; nothing goes back to the kernel but the window.
// Each redraw samples only the canvas's own pixels from a pyramid of 2x2 averages, so its cost
// does not grow with the image (docs: benchmarks/viewer.py measures it in Chromium).

const MAX_ZOOM = 64;
const STEP = 1.25;
const BACKGROUND = 0xff1a1a1a;

function codesOf(view, bits) {
  if (!view || view.byteLength === 0) return null;
  return bits === 16
    ? new Uint16Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength))
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

// levels[k] holds the image averaged over 2^k x 2^k blocks, down to about 256 pixels a side
function pyramid(data, width, height) {
  const levels = [{ data, w: width, h: height }];
  let w = width, h = height;
  while (Math.max(w, h) > 256) {
    const w2 = Math.ceil(w / 2), h2 = Math.ceil(h / 2);
    const out = new data.constructor(w2 * h2);
    for (let y = 0; y < h2; y++) {
      const r0 = 2 * y * w, r1 = Math.min(2 * y + 1, h - 1) * w;
      for (let x = 0; x < w2; x++) {
        const x0 = 2 * x, x1 = Math.min(2 * x + 1, w - 1);
        out[y * w2 + x] = (data[r0 + x0] + data[r0 + x1] + data[r1 + x0] + data[r1 + x1] + 2) >> 2;
      }
    }
    levels.push({ data: out, w: w2, h: h2 });
    data = out; w = w2; h = h2;
  }
  return levels;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function format(value) {
  const size = Math.abs(value);
  return size >= 100 ? value.toFixed(0) : size >= 1 ? value.toFixed(1) : value.toPrecision(2);
}

function render({ model, el }) {
  el.classList.add("rxv");
  const state = { zoom: 1, cx: 0, cy: 0, levels: null, heat: null, lut: null, colours: null, pending: 0, since: 0 };

  // ---- the toolbar --------------------------------------------------------------------
  const bar = element("div", { class: "rxv-bar", role: "toolbar", "aria-label": "Viewer" });
  const button = (label, text, title) => {
    const b = element("button", { type: "button", class: "rxv-button", "aria-label": label, title }, text);
    bar.append(b);
    return b;
  };
  const zoomIn = button("Zoom in", "+", "Zoom in (wheel up, or + on the picture)");
  const zoomOut = button("Zoom out", "−", "Zoom out (wheel down, or - on the picture)");
  const resetView = button("Reset view", "Fit", "Reset the zoom and the pan (0 on the picture)");
  const slider = (label, title) => {
    const wrap = element("label", { class: "rxv-slider", title });
    const input = element("input", { type: "range", "aria-label": label, step: "any" });
    const readout = element("span", { class: "rxv-readout" });
    wrap.append(element("span", {}, label), input, readout);
    bar.append(wrap);
    return { input, readout };
  };
  const windowControl = slider("Window", "Contrast: the range of values from black to white (drag right or Shift-drag sideways)");
  const levelControl = slider("Level", "Brightness: the value shown mid-grey (drag right or Shift-drag up and down)");
  const presets = element("select", { class: "rxv-presets", "aria-label": "Window preset", title: "The file's own windows" });
  bar.append(presets);
  const invert = button("Invert", "Invert", "Show high values dark");
  invert.setAttribute("aria-pressed", "false");
  const resetWindow = button("Reset window", "Reset window", "Back to the file's own window");

  // ---- the two panes ------------------------------------------------------------------
  const panes = element("div", { class: "rxv-panes" });
  const pane = (name) => {
    const box = element("figure", { class: `rxv-pane rxv-pane-${name}` });
    const canvas = element("canvas", { class: `rxv-canvas rxv-canvas-${name}`, role: "img", tabindex: "0" });
    const sides = element("div", { class: "rx-sides" });
    sides.append(element("span", {}, "patient's right"), element("span", {}, "patient's left"));
    box.append(canvas, sides);
    panes.append(box);
    return { box, canvas, context: canvas.getContext("2d", { alpha: false }), image: null };
  };
  const left = pane("original"), right = pane("overlay");
  const hint = element("div", { class: "rxv-hint" },
    "Wheel or +/− to zoom, drag to pan, right-drag or Shift-drag for window and level; both pictures move together.");
  el.append(bar, panes, hint);

  // ---- what the kernel sent -----------------------------------------------------------
  const width = () => model.get("width"), height = () => model.get("height");
  function loadPixels() {
    const codes = codesOf(model.get("pixels"), model.get("bits"));
    state.levels = codes && codes.length === width() * height() ? pyramid(codes, width(), height()) : null;
    state.zoom = 1; state.cx = width() / 2; state.cy = height() / 2;
    const span = model.get("high") - model.get("low");
    windowControl.input.min = String(span / 500); windowControl.input.max = String(2 * span);
    levelControl.input.min = String(model.get("low") - span / 2); levelControl.input.max = String(model.get("high") + span / 2);
    loadPresets();
  }
  // the file's windows: also when the same pixels come again with other window tags
  function loadPresets() {
    presets.replaceChildren();
    for (const [index, preset] of model.get("presets").entries()) {
      presets.append(element("option", { value: String(index) }, preset.name));
    }
    presets.disabled = model.get("presets").length < 2;
    loadWindow();
  }
  function loadHeat() {
    const data = model.get("heat");
    const w = model.get("heat_width"), h = model.get("heat_height");
    state.heat = data && data.byteLength === w * h ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    const colours = model.get("colours");
    state.colours = colours && colours.byteLength === 768 ? new Uint8Array(colours.buffer, colours.byteOffset, 768) : null;
  }
  function loadWindow() {
    const top = model.get("bits") === 16 ? 65535 : 255;
    const low = model.get("low"), span = model.get("high") - low;
    const level = model.get("level"), window = Math.max(model.get("window"), 1e-9), flip = model.get("invert");
    const lut = new Uint8Array(top + 1);
    for (let code = 0; code <= top; code++) {
      const value = low + (code * span) / top;
      let grey = (value - (level - window / 2)) / window;
      grey = grey < 0 ? 0 : grey > 1 ? 1 : grey;
      lut[code] = Math.round(255 * (flip ? 1 - grey : grey));
    }
    state.lut = lut;
    windowControl.input.value = String(window); windowControl.readout.textContent = format(window);
    levelControl.input.value = String(level); levelControl.readout.textContent = `${format(level)} ${model.get("unit")}`;
    invert.setAttribute("aria-pressed", String(flip));
    const match = model.get("presets").findIndex((p) => Math.abs(p.level - level) < 1e-6 && Math.abs(p.width - window) < 1e-6);
    presets.value = match >= 0 ? String(match) : "";
  }

  // ---- drawing ------------------------------------------------------------------------
  function fitScale(canvas) {
    return Math.min(canvas.width / width(), canvas.height / height());
  }
  function drawPane(target, withHeat) {
    const { canvas, context } = target;
    const cw = canvas.width, ch = canvas.height;
    if (!cw || !ch) return;
    if (!target.image || target.image.width !== cw || target.image.height !== ch) target.image = context.createImageData(cw, ch);
    const out = new Uint32Array(target.image.data.buffer);
    if (!state.levels || !state.lut) { out.fill(BACKGROUND); context.putImageData(target.image, 0, 0); return; }
    const scale = fitScale(canvas) * state.zoom;  // canvas pixels per image pixel
    const k = Math.max(0, Math.min(state.levels.length - 1, Math.floor(Math.log2(1 / scale))));
    const level = state.levels[k], f = 2 ** k, W = width(), H = height();
    const heat = withHeat && state.heat && state.colours ? state.heat : null;
    const hw = model.get("heat_width"), hh = model.get("heat_height");
    const columns = new Int32Array(cw), heatColumns = new Int32Array(cw);
    for (let px = 0; px < cw; px++) {
      const x = state.cx + (px + 0.5 - cw / 2) / scale;
      columns[px] = x < 0 || x >= W ? -1 : Math.min(level.w - 1, Math.floor(x / f));
      heatColumns[px] = Math.min(hw - 1, Math.floor((x * hw) / W));
    }
    const lut = state.lut, data = level.data, colours = state.colours;
    const alpha = Math.round(256 * Math.max(0, Math.min(1, model.get("opacity")))), keep = 256 - alpha;
    for (let py = 0; py < ch; py++) {
      const y = state.cy + (py + 0.5 - ch / 2) / scale;
      const row = py * cw;
      if (y < 0 || y >= H) { out.fill(BACKGROUND, row, row + cw); continue; }
      const base = Math.min(level.h - 1, Math.floor(y / f)) * level.w;
      const heatBase = Math.min(hh - 1, Math.floor((y * hh) / H)) * hw;
      for (let px = 0; px < cw; px++) {
        const column = columns[px];
        if (column < 0) { out[row + px] = BACKGROUND; continue; }
        const grey = lut[data[base + column]];
        if (heat) {
          const c = 3 * heat[heatBase + heatColumns[px]];
          const r = (keep * grey + alpha * colours[c]) >> 8;
          const g = (keep * grey + alpha * colours[c + 1]) >> 8;
          const b = (keep * grey + alpha * colours[c + 2]) >> 8;
          out[row + px] = 0xff000000 | (b << 16) | (g << 8) | r;
        } else {
          out[row + px] = 0xff000000 | (grey << 16) | (grey << 8) | grey;
        }
      }
    }
    context.putImageData(target.image, 0, 0);
    if (!withHeat) {
      context.save();
      context.setTransform(scale, 0, 0, scale, cw / 2 - state.cx * scale, ch / 2 - state.cy * scale);
      marker(context, scale);
      context.restore();
    }
    if (withHeat) {
      context.save();
      context.setTransform(scale, 0, 0, scale, cw / 2 - state.cx * scale, ch / 2 - state.cy * scale);
      if (model.get("show_outline")) stroke(context, model.get("outline"), scale, "#ffffff", []);
      if (model.get("show_core")) stroke(context, model.get("core"), scale, "#00e5ff", [6, 4]);
      context.restore();
    }
  }
  function stroke(context, polygons, scale, colour, dash) {
    const pixel = (window.devicePixelRatio || 1) / scale;
    for (const [colourOf, widthOf, dashed] of [["rgba(0,0,0,0.8)", 3.5, []], [colour, 1.6, dash]]) {
      context.strokeStyle = colourOf; context.lineWidth = widthOf * pixel;
      context.setLineDash(dashed.map((d) => d * pixel));
      for (const points of polygons) {
        if (points.length < 4) continue;
        context.beginPath();
        context.moveTo(points[0], points[1]);
        for (let i = 2; i < points.length; i += 2) context.lineTo(points[i], points[i + 1]);
        context.closePath();
        context.stroke();
      }
    }
  }
  // each picture's alt text is set in the frame that draws it, so the words never describe the last picture
  function draw() {
    const started = performance.now();
    drawPane(left, false);
    left.canvas.setAttribute("aria-label", model.get("original_alt"));
    if (model.get("show_overlay")) drawPane(right, true);
    right.canvas.setAttribute("aria-label", model.get("overlay_alt"));
    const done = performance.now();
    performance.measure("rxviz-draw", { start: started, end: done });
    if (state.since) performance.measure("rxviz-redraw", { start: state.since, end: done });
    state.pending = 0; state.since = 0;
    el.dataset.zoom = state.zoom.toFixed(3);
    el.dataset.centre = `${state.cx.toFixed(1)},${state.cy.toFixed(1)}`;
    el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
  }
  // redraws wait for the next frame, so a burst of events draws once; ``since`` is the first event's time
  function redraw(event) {
    if (!state.since) state.since = event && event.timeStamp ? event.timeStamp : performance.now();
    if (!state.pending) state.pending = requestAnimationFrame(draw);
  }

  // ---- sizes: each canvas has as many pixels as it shows ------------------------------
  function resize() {
    const ratio = window.devicePixelRatio || 1;
    for (const target of [left, right]) {
      const box = target.canvas.getBoundingClientRect();
      const w = Math.max(1, Math.round(box.width * ratio)), h = Math.max(1, Math.round(box.height * ratio));
      if (target.canvas.width !== w || target.canvas.height !== h) { target.canvas.width = w; target.canvas.height = h; }
    }
    redraw();
  }
  function layout() {
    const aspect = `${Math.max(1, width())} / ${Math.max(1, height())}`;
    for (const target of [left, right]) target.canvas.style.aspectRatio = aspect;
    right.box.style.display = model.get("show_overlay") ? "" : "none";
    for (const sides of el.querySelectorAll(".rx-sides")) sides.style.display = model.get("sides") ? "" : "none";
    fitHeight();
    resize();
  }
  // the pictures end above the bottom of the window, their side labels and hint under them: the
  // lung bases are what a lesson asks about, and on a 1024x768 projector they ran below the fold
  function fitHeight() {
    let scroller = el.parentElement;
    while (scroller && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowY)) scroller = scroller.parentElement;
    const scrolled = scroller ? scroller.scrollTop : window.scrollY;
    const top = left.canvas.getBoundingClientRect().top + scrolled;
    const tallest = Math.max(240, Math.floor(window.innerHeight - top - 56));
    // the pane as wide as the picture at that height, so the side labels stay under its corners
    const widest = `${Math.min(900, Math.floor(tallest * Math.max(1, width()) / Math.max(1, height())))}px`;
    for (const target of [left, right]) {
      if (target.canvas.style.maxHeight !== `${tallest}px`) target.canvas.style.maxHeight = `${tallest}px`;
      if (target.box.style.maxWidth !== widest) target.box.style.maxWidth = widest;
    }
  }
  const observer = new ResizeObserver(() => { fitHeight(); resize(); });
  observer.observe(left.canvas); observer.observe(right.canvas); observer.observe(document.body);
  window.addEventListener("resize", fitHeight);

  // ---- zoom and pan -------------------------------------------------------------------
  function clampCentre() {
    state.cx = Math.max(0, Math.min(width(), state.cx));
    state.cy = Math.max(0, Math.min(height(), state.cy));
  }
  function zoomBy(factor, event, canvas = left.canvas, px = null, py = null) {
    const before = fitScale(canvas) * state.zoom;
    const next = Math.max(1, Math.min(MAX_ZOOM, state.zoom * factor));
    if (px !== null) {  // keep the point under the cursor where it is
      const after = fitScale(canvas) * next;
      const x = state.cx + (px - canvas.width / 2) / before, y = state.cy + (py - canvas.height / 2) / before;
      state.cx = x - (px - canvas.width / 2) / after; state.cy = y - (py - canvas.height / 2) / after;
    }
    state.zoom = next;
    if (next === 1) { state.cx = width() / 2; state.cy = height() / 2; }
    clampCentre();
    redraw(event);
  }
  function panBy(dx, dy, canvas, event) {  // dx, dy in CSS pixels
    const scale = fitScale(canvas) * state.zoom / (window.devicePixelRatio || 1);
    state.cx -= dx / scale; state.cy -= dy / scale;
    clampCentre();
    redraw(event);
  }
  function reset(event) { state.zoom = 1; state.cx = width() / 2; state.cy = height() / 2; redraw(event); }
  zoomIn.addEventListener("click", (e) => zoomBy(STEP, e));
  zoomOut.addEventListener("click", (e) => zoomBy(1 / STEP, e));
  resetView.addEventListener("click", (e) => reset(e));

  for (const target of [left, right]) {
    const canvas = target.canvas;
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const box = canvas.getBoundingClientRect(), ratio = canvas.width / box.width;
      zoomBy(e.deltaY < 0 ? STEP : 1 / STEP, e, canvas, (e.clientX - box.left) * ratio, (e.clientY - box.top) * ratio);
    }, { passive: false });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      const windowing = e.button === 2 || e.shiftKey;
      const startX = e.clientX, startY = e.clientY;
      let lastX = e.clientX, lastY = e.clientY;
      const move = (m) => {
        const dx = m.clientX - lastX, dy = m.clientY - lastY;
        lastX = m.clientX; lastY = m.clientY;
        if (windowing) {
          const span = model.get("high") - model.get("low"), box = canvas.getBoundingClientRect();
          setWindow(model.get("level") - (dy / box.height) * span, model.get("window") * Math.exp(dx / box.width), m, false);
        } else {
          panBy(dx, dy, canvas, m);
        }
      };
      const up = (u) => {
        if (model.get("pick") && !windowing && Math.hypot(u.clientX - startX, u.clientY - startY) < 4) pick(canvas, u);
        canvas.removeEventListener("pointermove", move);
        canvas.removeEventListener("pointerup", up);
        canvas.removeEventListener("pointercancel", up);
        if (windowing) model.save_changes();
      };
      canvas.addEventListener("pointermove", move);
      canvas.addEventListener("pointerup", up);
      canvas.addEventListener("pointercancel", up);
    });
    canvas.addEventListener("keydown", (e) => {
      const step = 40;
      const actions = {
        "+": () => zoomBy(STEP, e), "=": () => zoomBy(STEP, e), "-": () => zoomBy(1 / STEP, e), "0": () => reset(e),
        ArrowLeft: () => panBy(step, 0, canvas, e), ArrowRight: () => panBy(-step, 0, canvas, e),
        ArrowUp: () => panBy(0, step, canvas, e), ArrowDown: () => panBy(0, -step, canvas, e),
      };
      if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
    });
  }

  // a click on a picture while the quiz asks "where?": the image pixel under it goes to the kernel
  function pick(canvas, event) {
    const box = canvas.getBoundingClientRect(), ratio = canvas.width / box.width;
    const scale = fitScale(canvas) * state.zoom;
    const x = state.cx + ((event.clientX - box.left) * ratio - canvas.width / 2) / scale;
    const y = state.cy + ((event.clientY - box.top) * ratio - canvas.height / 2) / scale;
    if (x < 0 || y < 0 || x >= width() || y >= height()) return;
    model.set("picked", [Math.floor(x), Math.floor(y)]);
    model.save_changes();
    redraw(event);
  }
  function marker(context, scale) {
    const point = model.get("picked");
    if (!model.get("pick") || !point || point.length !== 2) return;
    const pixel = (window.devicePixelRatio || 1) / scale;
    context.beginPath();
    context.arc(point[0] + 0.5, point[1] + 0.5, 9 * pixel, 0, 2 * Math.PI);
    for (const [colour, size] of [["rgba(0,0,0,0.8)", 4], ["#ffd54f", 2]]) {
      context.strokeStyle = colour; context.lineWidth = size * pixel; context.stroke();
    }
  }

  // ---- window and level ---------------------------------------------------------------
  function setWindow(level, window, event, save = true) {
    model.set("level", level);
    model.set("window", Math.max(window, (model.get("high") - model.get("low")) / 500));
    loadWindow();
    redraw(event);
    if (save) model.save_changes();
  }
  windowControl.input.addEventListener("input", (e) => setWindow(model.get("level"), Number(e.target.value), e, false));
  levelControl.input.addEventListener("input", (e) => setWindow(Number(e.target.value), model.get("window"), e, false));
  for (const control of [windowControl.input, levelControl.input]) control.addEventListener("change", () => model.save_changes());
  presets.addEventListener("change", (e) => {
    const preset = model.get("presets")[Number(e.target.value)];
    if (preset) setWindow(preset.level, preset.width, e);
  });
  invert.addEventListener("click", (e) => {
    model.set("invert", !model.get("invert"));
    loadWindow(); redraw(e); model.save_changes();
  });
  resetWindow.addEventListener("click", (e) => {
    const preset = model.get("presets")[0];
    model.set("invert", model.get("invert_default"));
    setWindow(preset.level, preset.width, e);
  });

  // ---- changes from the kernel --------------------------------------------------------
  model.on("change:pixels", () => { loadPixels(); layout(); });
  model.on("change:presets", () => { loadPresets(); redraw(); });
  model.on("change:heat", () => { loadHeat(); redraw(); });
  model.on("change:colours", () => { loadHeat(); redraw(); });
  for (const name of ["window", "level", "invert"]) model.on(`change:${name}`, () => { loadWindow(); redraw(); });
  for (const name of ["opacity", "outline", "core", "show_outline", "show_core", "pick", "picked"]) model.on(`change:${name}`, () => redraw());
  for (const name of ["show_overlay", "sides"]) model.on(`change:${name}`, () => layout());
  for (const name of ["original_alt", "overlay_alt"]) model.on(`change:${name}`, () => redraw());
  loadPixels(); loadHeat(); layout();
  return () => { observer.disconnect(); window.removeEventListener("resize", fitHeight); };
}

export default { render };
