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
  // Scenario shares: a slider and its number field move together, and the total follows.
  function shareTotal() {
    var out = document.getElementById("share-total");
    if (!out) { return; }
    var total = 0;
    document.querySelectorAll("input[data-share]").forEach(function (input) {
      total += parseFloat(input.value) || 0;
    });
    out.textContent = total.toFixed(1);
  }
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.dataset && target.dataset.shareFor) {
      document.getElementById(target.dataset.shareFor).value = target.value;
    } else if (target.dataset && target.dataset.share !== undefined) {
      var slider = document.querySelector('input[data-share-for="' + target.id + '"]');
      if (slider) { slider.value = target.value; }
    }
    shareTotal();
  });
  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  // After any swap, render whatever chart is not drawn yet (an outerHTML swap replaces the event's target).
  document.addEventListener("htmx:afterSettle", function () { renderCharts(document); });
})();
