"""The HTML report, for people: one self-contained page (Jinja2, autoescaped), readable with
JavaScript off. The page's parts live in templates/: base.html.j2 (the frame and its styles),
sections.html.j2 (header, cards, histogram, thumbnails, tables: macros any report can use)
and one template per kind of report (check.html.j2); page.py builds what they show."""
from __future__ import annotations

import base64
import hashlib

from markupsafe import Markup
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..model import Report
from .view import View

# Sorting (click a column head) and filtering (type in the box); the page works without it.
SCRIPT = """(function () {
  var box = document.getElementById("filter");
  if (box) {
    box.hidden = false;
    box.addEventListener("input", function () {
      var q = box.value.toLowerCase();
      document.querySelectorAll("tr[data-row]").forEach(function (tr) {
        tr.hidden = q !== "" && tr.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  document.querySelectorAll("table.sortable th[data-sort]").forEach(function (th, _) {
    th.addEventListener("click", function () {
      var table = th.closest("table"), body = table.tBodies[0];
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var down = th.dataset.dir !== "up";
      th.dataset.dir = down ? "up" : "down";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return down ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

_ENV: Environment | None = None


def environment() -> Environment:
    """The one Jinja2 environment: templates from the package, every value autoescaped."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("datascan.report", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    return _ENV


def page(template: str, **context) -> str:
    """Render a report template (it extends base.html.j2) with the page script in place."""
    return environment().get_template(template).render(script=Markup(SCRIPT),   # our constant, hashed in the CSP
                                                        script_hash=SCRIPT_HASH,
                                                       **context)


def render(report: Report, view: View = View()) -> str:
    """`datascan check --format html` and `datascan report`: the check report as a page."""
    from .page import check_page
    return page("check.html.j2", page=check_page(report, view))
