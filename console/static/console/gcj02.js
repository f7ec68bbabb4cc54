/* WGS-84 to GCJ-02, for drawing the platform's points (stored in WGS-84) on Chinese tiles
 * (ANXIN_MAP_TILE_CRS=gcj02). GCJ-02 is the offset system mandated for maps published in
 * mainland China; its forward offset is a published closed form (a polynomial and sine series in
 * the distance from 105°E 35°N, scaled on the Krasovsky 1940 ellipsoid), applied inside China's
 * bounding box only. backend/core/geo.py has the same function in Python (and its inverse, for
 * positions that arrive in GCJ-02); tests check both against published reference pairs.
 * Loaded by the console's pages as a plain script (window.AnxinGeo) and by node in the tests. */
(function (root) {
  "use strict";

  var A = 6378245.0; // Krasovsky 1940: semi-major axis (m)
  var EE = 0.00669342162296594323; // and its first eccentricity squared
  var PI = Math.PI;

  function insideChina(lng, lat) {
    return lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }

  // The series shared by both offsets: terms in x (longitude) and y (latitude) periods.
  function waves(x) {
    return (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
  }

  function offsetLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += waves(x);
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }

  function offsetLng(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += waves(x);
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }

  /* [lng, lat] in WGS-84 -> [lng, lat] in GCJ-02 (unchanged outside China). */
  function wgs84ToGcj02(lng, lat) {
    if (!insideChina(lng, lat)) return [lng, lat];
    var dLat = offsetLat(lng - 105.0, lat - 35.0);
    var dLng = offsetLng(lng - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * PI;
    var magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    dLng = (dLng * 180.0) / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [lng + dLng, lat + dLat];
  }

  var api = { wgs84ToGcj02: wgs84ToGcj02, insideChina: insideChina };
  root.AnxinGeo = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
