// The HQ dashboard's charts, drawn with Apache ECharts (SVG) from the figures the page carries as JSON.
(function () {
  "use strict";
  var STEPS = {touched: "触达", bound: "绑定", first_order: "首单", repeat_order: "复购", referred: "推荐"};
  function options(kind, d) {
    if (kind === "days") {
      return {tooltip: {trigger: "axis"}, grid: {left: 60, right: 16, top: 16, bottom: 30},
        xAxis: {type: "category", data: d.days.dates}, yAxis: {type: "value"},
        series: [{type: "line", data: d.days.gmv.map(function (v) { return v / 100; }), areaStyle: {}}]};
    }
    if (kind === "split") {
      return {tooltip: {trigger: "item"}, legend: {bottom: 0},
        series: [{type: "pie", radius: ["40%", "70%"], data: d.split.map(function (s) { return {name: s.name, value: s.value / 100}; })}]};
    }
    if (kind === "stores") {
      return {tooltip: {trigger: "axis"}, grid: {left: 80, right: 16, top: 10, bottom: 20},
        xAxis: {type: "value"}, yAxis: {type: "category", inverse: true, data: d.stores.codes},
        series: [{type: "bar", data: d.stores.sales.map(function (v) { return v / 100; })}]};
    }
    if (kind === "funnel") {
      return {tooltip: {trigger: "item"},
        series: [{type: "funnel", sort: "none", left: "10%", width: "80%",
          data: d.funnel.map(function (s) { return {name: STEPS[s.name] || s.name, value: s.value}; })}]};
    }
    return {tooltip: {trigger: "item"}, legend: {bottom: 0, type: "scroll"},
      series: [{type: "pie", radius: "65%", data: d.segments}]};
  }
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var chart = echarts.init(el, null, {renderer: "svg"});
      chart.setOption(Object.assign({animation: false}, options(el.dataset.chart, data)));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
