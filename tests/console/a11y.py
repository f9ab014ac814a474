"""Accessibility checks run in the page on each view: every control has a label, text has 4.5:1
contrast (3:1 when large), the landmarks exist, and every control is reached by Tab alone.

axe-core ships through npm only; these few rules, written here, need nothing vendored.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

CHECKS = r"""
(landmarks) => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${(el.textContent || "").trim().slice(0, 40)}"`;
  // labels
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], summary")) {
    if (!visible(el)) continue;
    let name = el.getAttribute("aria-label") || "";
    const by = el.getAttribute("aria-labelledby");
    if (by) name += by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
    if (el.labels) for (const label of el.labels) name += label.textContent;
    if (["BUTTON", "A", "SUMMARY"].includes(el.tagName)) name += el.textContent;
    if (!name.trim()) problems.push(`no label: ${describe(el)}`);
  }
  // contrast
  const rgb = (text) => { const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/.exec(text);
    return m ? { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] } : null; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => { for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor); if (c && c.a > 0.5) return c; }
    return { r: 255, g: 255, b: 255, a: 1 }; };
  const texts = [...document.querySelectorAll("body *")].filter((el) =>
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) && visible(el));
  for (const el of texts) {
    let fg, bg;
    if (el instanceof SVGElement) {
      fg = rgb(getComputedStyle(el).fill);
      const rect = el.parentElement.querySelector("rect");
      if (!rect) continue;
      bg = rgb(getComputedStyle(rect).fill);
    } else { fg = rgb(getComputedStyle(el).color); bg = background(el); }
    if (!fg || !bg) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const got = ratio(fg, bg);
    if (got < need) problems.push(`contrast ${got.toFixed(2)} < ${need}: ${describe(el)}`);
  }
  // landmarks and one heading of level 1
  for (const selector of landmarks) if (!document.querySelector(selector)) problems.push(`no ${selector} landmark`);
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  // every control can take focus from the keyboard
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), summary, select, textarea")) {
    if (visible(el) && (el.tabIndex < 0 || el.disabled)) problems.push(`not focusable by keyboard: ${describe(el)}`);
  }
  return problems;
}
"""

COUNT_CONTROLS = r"""() => [...document.querySelectorAll("a[href], button, input:not([type=hidden]), summary, select, textarea")]
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length"""

FOCUSED = r"""() => { const el = document.activeElement; if (!el || el === document.body) return null;
  if (!el.dataset.tabSeen) el.dataset.tabSeen = String(Math.random()); return el.dataset.tabSeen; }"""


def check(page: Page, landmarks: tuple[str, ...] = ("main", "header", "nav")) -> list[str]:
    """Problems found on the current view (empty when it passes); Tab visits every control once a round."""
    problems: list[str] = list(page.evaluate(CHECKS, list(landmarks)))
    controls = int(page.evaluate(COUNT_CONTROLS))
    seen: set[Any] = set()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(controls + 5):
        page.keyboard.press("Tab")
        mark = page.evaluate(FOCUSED)
        if mark is not None:
            seen.add(mark)
    if len(seen) < controls:
        problems.append(f"Tab reached {len(seen)} of {controls} controls")
    return problems
