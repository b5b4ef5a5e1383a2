// Checkout: fill the coordinates from the browser's geolocation, only when the shopper asks (the browser
// then asks for consent). No prices, routes or rules are computed here.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-locate]");
  if (!button) return;
  var status = document.querySelector("[data-locate-status]");
  if (!navigator.geolocation) {
    if (status) status.textContent = "浏览器不支持定位，请手动填写坐标。";
    return;
  }
  if (status) status.textContent = "正在定位…";
  navigator.geolocation.getCurrentPosition(
    function (pos) {
      document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("lng").value = pos.coords.longitude.toFixed(6);
      if (status) status.textContent = "已填入你的位置。";
    },
    function () {
      if (status) status.textContent = "没有得到位置，请手动填写坐标。";
    },
    { timeout: 10000 }
  );
});
