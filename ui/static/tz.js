// Tells the console the browser's time zone (the tz cookie), so that pages
// show times in it. Without this script times show in UTC, and say so.
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.split("; ").indexOf("tz=" + encodeURIComponent(tz)) < 0) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=strict" +
        (location.protocol === "https:" ? "; secure" : "");
    }
  } catch (e) { /* no zone: UTC */ }
})();
