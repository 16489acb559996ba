// Small DOM helpers: elements are built with textContent only (never HTML from data).

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// The plan's settings, rendered by the server into <body data-...> (docs/chair.md).
const settings = () => (typeof document !== "undefined" && document.body ? document.body.dataset : {});

/** "call the hotline (515-555-0100)": the plan's hotline number(s) when it sets them. */
export function callHotline(capital = false) {
  const number = settings().hotline;
  return `${capital ? "Call" : "call"} the hotline${number ? ` (${number})` : ""}`;
}

/** "7:45 pm CST": a time in the plan's time zone with the zone's abbreviation. */
export function clock(iso) {
  if (!iso) return "";
  const zone = settings().timeZone || "UTC";
  const parts = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: zone,
    timeZoneName: "short" }).formatToParts(new Date(iso));
  const part = (type) => (parts.find((p) => p.type === type) || {}).value || "";
  return `${part("hour")}:${part("minute")} ${part("dayPeriod").toLowerCase()} ${part("timeZoneName")}`;
}

/** Resize an image file on the phone: longest side at most `max` pixels, JPEG. */
export async function resizeImage(file, max = 1600, quality = 0.85) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, max / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale);
  const height = Math.round(bitmap.height * scale);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { dataUrl: canvas.toDataURL("image/jpeg", quality), type: "image/jpeg", width, height,
    originalWidth: Math.round(width / scale), originalHeight: Math.round(height / scale), originalSize: file.size };
}
