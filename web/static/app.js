// Progressive extras only; every page works without this file.
// "/" focuses the search box, j/k move between hits, e expands or collapses all quotes.
(function () {
  "use strict";
  var current = -1;
  // The phone layout hides the facets behind a Filter button only when this script runs.
  document.documentElement.classList.add("js");

  function hits() { return document.querySelectorAll("ol.hits > li.hit"); }

  function select(index) {
    var list = hits();
    if (!list.length) { return; }
    index = Math.max(0, Math.min(list.length - 1, index));
    if (current >= 0 && list[current]) { list[current].classList.remove("active"); }
    current = index;
    list[current].classList.add("active");
    list[current].scrollIntoView({ block: "nearest" });
    var link = list[current].querySelector("a.subject");
    if (link) { link.focus({ preventScroll: true }); }
  }

  function toggleQuotes() {
    var quotes = document.querySelectorAll("details.quote");
    var open = Array.prototype.some.call(quotes, function (d) { return !d.open; });
    quotes.forEach(function (d) { d.open = open; });
    var button = document.getElementById("toggle-quotes");
    if (button) { button.textContent = open ? "Collapse all quotes" : "Expand all quotes"; }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "/") {
      var box = document.getElementById("q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    } else if (event.key === "j") {
      select(current + 1);
    } else if (event.key === "k") {
      select(current - 1);
    } else if (event.key === "e") {
      toggleQuotes();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var filter = document.querySelector("button.filter-button");
    var facets = document.getElementById("facets");
    if (filter && facets) {
      filter.addEventListener("click", function () {
        var open = facets.classList.toggle("open");
        filter.setAttribute("aria-expanded", open ? "true" : "false");
        filter.textContent = open ? "Hide filters" : "Filter";
      });
    }
    var section = document.querySelector("article.message section.body");
    if (!section || !section.querySelector("details.quote")) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.id = "toggle-quotes";
    button.className = "toggle-quotes";
    button.textContent = "Expand all quotes";
    button.addEventListener("click", toggleQuotes);
    section.insertBefore(button, section.firstChild);
  });
}());
