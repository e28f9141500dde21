// The movements map: Leaflet (vendored) over vector layers only — the Natural Earth extract served
// by the OMC (no tile server, nothing from outside) and the main international routes, then the
// crossings, corridors and vehicles from the page's #map-data. A live refresh swaps #map-data (htmx):
// vehicles move, appear, leave and turn red or blue; the map, with the officer's zoom and pan, stays.
// Text goes in as textContent, never as HTML.
(function () {
  "use strict";
  var holder = document.getElementById("map");
  if (!holder || !window.L) { return; }
  var map = L.map(holder, { zoomSnap: 0.25, minZoom: 3, maxZoom: 10, worldCopyJump: false,
                            maxBounds: [[30, 35], [62, 105]], attributionControl: true });
  // The reader's words (server-side gettext, in the page); a {name} in one is filled in here.
  var words = holder.dataset.words ? JSON.parse(holder.dataset.words) : {};
  function say(key, english, values) {
    return (words[key] || english).replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(say("attribution", "Borders: Natural Earth (public domain) · Leaflet"));
  map.fitBounds([[40.5, 46.5], [55.5, 87.5]]);  // Kazakhstan
  map.createPane("base").style.zIndex = 250;
  map.createPane("routes").style.zIndex = 350;  // over the base, under the corridors (overlayPane, 400)

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  fetch(holder.dataset.base, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (geo) {
      L.geoJSON(geo, {
        pane: "base", interactive: false,
        style: function (f) {  // fills without outline, then the borders and coasts as lines
          var kz = f.id === "Kazakhstan" || f.id === "Kazakhstan border";
          var kind = f.properties.kind;
          return { className: kind + (kz ? " kz" : ""), stroke: kind === "border",
                   fill: kind === "country", weight: kz ? 2 : 1 };
        },
        onEachFeature: function (f, layer) { tag(layer, "data-feature", f.id); }
      }).addTo(map);
      holder.classList.add("base-drawn");
    })
    .catch(function () { holder.classList.add("base-missing"); });

  // The main international routes: straight lines between sourced towns (no roads data set is
  // reachable; see static/map/README.md), each with its route number and source in its tooltip.
  if (holder.dataset.routes) {
    fetch(holder.dataset.routes, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (geo) {
        L.geoJSON(geo, {
          pane: "routes",
          style: function () { return { className: "route", weight: 3, lineCap: "round" }; },
          onEachFeature: function (f, layer) {
            tag(layer, "data-route", f.id);
            layer.bindTooltip(tooltip([f.properties.ref, f.properties.name,
                                       say("route", "straight lines between towns, not the course of the road")]),
                              { sticky: true });
          }
        }).addTo(map);
        holder.classList.add("routes-drawn");
      })
      .catch(function () { holder.classList.add("routes-missing"); });
  }

  var fixed = null;  // crossings and corridors: configuration, drawn once
  var vehicles = {};  // transit id -> marker, kept across refreshes (a hovered tooltip stays open)

  function tooltip(lines) {
    var box = el("div");
    lines.forEach(function (line, i) { box.appendChild(el(i ? "div" : "strong", null, line)); });
    return box;
  }

  function tag(layer, name, value) {  // a data- attribute on the drawn element, for people's tools and tests
    layer.on("add", function () { layer.getElement().setAttribute(name, value); });
    return layer;
  }

  function drawFixed(data) {
    fixed = L.layerGroup().addTo(map);
    data.corridors.forEach(function (c) {
      tag(L.polyline(c.points, { className: "corridor", weight: 6, lineCap: "round" }), "data-corridor", c.id)
        .bindTooltip(tooltip([c.name, say("corridor", "transit corridor")]), { sticky: true })
        .addTo(fixed);
    });
    data.checkpoints.forEach(function (c) {
      var label = el("span", "label", c.code.replace(/^KZ-/, ""));
      var icon = L.divIcon({ className: "checkpoint-mark" + (c.unconfirmed ? " unconfirmed" : ""),
                             html: label, iconSize: [14, 14] });
      var lines = [c.name, c.unconfirmed ? say("unconfirmed", "position recalled, unconfirmed") : c.lat + ", " + c.lon];
      tag(L.marker([c.lat, c.lon], { icon: icon, keyboard: false, title: c.code }), "data-checkpoint", c.code)
        .bindTooltip(tooltip(lines)).addTo(fixed);
    });
  }

  function vehicleLines(v) {
    return [v.plate, say("on_corridor", "corridor {corridor}", { corridor: v.corridor }),
            say("seal", "seal {seal}", { seal: v.seal }),
            v.open_alerts ? say("alerts", "open alerts: {n}", { n: v.open_alerts })
                          : say("no_alert", "no open alert")];
  }

  function drawVehicle(v) {
    var marker = vehicles[v.id];
    if (!marker) {
      var icon = L.divIcon({ className: "vehicle-mark", html: el("span", "label", v.plate),
                             iconSize: [14, 14] });
      marker = tag(L.marker([v.lat, v.lon], { icon: icon, keyboard: false, zIndexOffset: 1000 }),
                   "data-transit", v.id).bindTooltip(tooltip(vehicleLines(v))).addTo(map);
      vehicles[v.id] = marker;
    } else {
      marker.setLatLng([v.lat, v.lon]);
      marker.setTooltipContent(tooltip(vehicleLines(v)));
    }
    marker.getElement().classList.toggle("alerting", v.open_alerts > 0);
  }

  function draw() {
    var source = document.getElementById("map-data");
    if (!source) { return; }
    var data = JSON.parse(source.dataset.map);
    if (!fixed) { drawFixed(data); }
    var seen = {};
    data.vehicles.forEach(function (v) { seen[v.id] = true; drawVehicle(v); });
    Object.keys(vehicles).forEach(function (id) {
      if (!seen[id]) { vehicles[id].remove(); delete vehicles[id]; }  // arrived, or no longer open
    });
  }

  draw();
  document.body.addEventListener("htmx:afterSettle", draw);
})();
