// Renders every chart spec on the page (and in content HTMX swaps in) with the vendored Vega-Lite.
(function () {
  "use strict";
  function renderCharts(root) {
    root.querySelectorAll('script[type="application/json"][data-chart]').forEach(function (node) {
      var target = document.getElementById(node.dataset.chart);
      if (!target || target.dataset.rendered === "yes") { return; }
      target.dataset.rendered = "yes";
      var spec = JSON.parse(node.textContent);
      window.vegaEmbed(target, spec, { actions: false, renderer: "svg" }).catch(function (error) {
        console.error("chart " + node.dataset.chart + " failed: " + error);
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { renderCharts(event.target); });
})();
