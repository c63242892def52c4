/* The backward stepper (microgradnn.viz.stepper): prev/next, slider, play, keyboard and
   #step=N for one .mg-stepper element. The picture fits the width it is given, shrinking to no
   less than MIN_FIT of its size (its 10 pt edge labels stay 10 px tall; a wider picture
   scrolls); the zoom button, z or ctrl + wheel show it at 100%; every frame scrolls the node
   that runs into view, and its legend stays in view (beside it, or sliding along it). The page
   embeds this function expression in a script element and calls it with the element's id,
   ("mg..._stepper"). It reads the frames from the element's JSON data script (class mg-data)
   and fetches nothing. */
(function (cid) {
  var me = document.currentScript;
  var root = (me && me.parentNode && me.parentNode.classList &&
              me.parentNode.classList.contains('mg-stepper')) ? me.parentNode
             : document.getElementById(cid);
  if (!root || root.getAttribute('data-ready')) { return; }
  root.setAttribute('data-ready', '1');
  var data = JSON.parse(root.querySelector('script.mg-data').textContent);
  var svg = root.querySelector('svg');
  var caption = root.querySelector('.mg-caption');
  var counter = root.querySelector('.mg-counter');
  var slider = root.querySelector('input[type=range]');
  var note = root.querySelector('.mg-note');
  var box = root.querySelector('.mg-svg');
  var zoom = root.querySelector('[data-act=zoom]');
  if (note) { note.style.display = 'none'; }
  function byId(id) { return svg.querySelector('[id="' + id + '"]'); }
  var slots = {};
  Object.keys(data.slots).forEach(function (s) { slots[s] = byId(s); });
  var marked = [];
  var cur = 0, timer = null;
  var standalone = document.body && document.body.hasAttribute('data-mg-standalone');
  function mark(id, cls) {
    var e = byId(id);
    if (e) { e.classList.add(cls); marked.push([e, cls]); }
  }
  function where(all) {
    var r = all[0].getBoundingClientRect();
    var u = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    Array.prototype.forEach.call(all, function (e) {
      var q = e.getBoundingClientRect();
      u.left = Math.min(u.left, q.left); u.top = Math.min(u.top, q.top);
      u.right = Math.max(u.right, q.right); u.bottom = Math.max(u.bottom, q.bottom);
    });
    return u;
  }
  function shift(lo, hi, blo, bhi, pad) {
    if (lo < blo + pad) { return lo - blo - pad; }
    if (hi > bhi - pad) { return Math.min(hi - bhi + pad, lo - blo - pad); }
    return 0;
  }
  /* Scroll the picture's box, and with `page` the page too, so that the node that runs (the
     union of this frame's marked nodes, or the first when they do not fit) is in view. */
  function keep(page) {
    var marks = root.querySelectorAll('.mg-cur');
    if (!marks.length) { return; }
    var b = box.getBoundingClientRect(), pad = 16;
    var u = where(marks);
    if (u.right - u.left > b.width - 2 * pad || u.bottom - u.top > b.height - 2 * pad) {
      marks = [marks[0]];
      u = where(marks);
    }
    box.scrollLeft += shift(u.left, u.right, b.left, b.right, pad);
    box.scrollTop += shift(u.top, u.bottom, b.top, b.bottom, pad);
    if (!page) { return; }
    /* Then whatever scrolls around the stepper (the page, JupyterLab's notebook panel): the
       last of the marked nodes into view, then the first, which wins where both do not fit. */
    var opts = {block: 'nearest', inline: 'nearest'};
    var last = marks[marks.length - 1];
    if (last.scrollIntoView) { last.scrollIntoView(opts); }
    if (marks[0].scrollIntoView) { marks[0].scrollIntoView(opts); }
  }
  /* The legend (title, swatches, what the colours mean) sits in a band of its own above the
     graph, at its left end, and the box scrolls to the node that runs. A picture taller than
     the box would scroll the legend away: where the stepper is wide enough for the legend
     beside the picture (fitted as setZoom fits it), the legend moves there, into a picture of
     its own, and the band is cut off the graph's picture. Otherwise it stays in its band, and
     when a wide picture scrolls sideways it slides along the band to the visible part's left
     edge. */
  var legend = svg.querySelector('g.mg-legend');
  var band = legend && legend.parentNode.querySelector('polygon');
  var home = legend && legend.parentNode, after = legend && legend.nextSibling;
  var aside = null, whole = null, cut = null;
  /* The picture as graphviz drew it, and cut to the graph alone (no band, none of the width
     the legend alone needed): [viewBox, width px, height px] each. */
  function measure() {
    if (aside || !band) { return !!aside; }
    var l, t, vb = svg.viewBox && svg.viewBox.baseVal, m = 4, x0 = Infinity, x1 = -Infinity;
    try {  /* a browser may refuse to measure a picture that is not shown yet */
      l = legend.getBBox();
      t = home.transform.baseVal.consolidate().matrix;
      Array.prototype.forEach.call(home.querySelectorAll(':scope > g'), function (e) {
        if (e === legend) { return; }
        var b = e.getBBox();
        x0 = Math.min(x0, b.x); x1 = Math.max(x1, b.x + b.width);
      });
    } catch (e) { return false; }
    if (!l || !l.width || !t || !vb || !vb.width || !vb.height || !svg.height) { return false; }
    aside = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    aside.setAttribute('class', 'mg-legend-svg');
    aside.setAttribute('viewBox', [l.x - m, l.y - m, l.width + 2 * m, l.height + 2 * m].join(' '));
    aside.setAttribute('width', (l.width + 2 * m) + 'pt');
    aside.setAttribute('height', (l.height + 2 * m) + 'pt');
    var w = svg.width.baseVal.value, h = svg.height.baseVal.value;
    whole = [svg.getAttribute('viewBox'), w, h];
    var top = Math.max(vb.y, t.d * (l.y + l.height + m) + t.f);
    var left = x1 > x0 ? Math.max(vb.x, t.a * (x0 - m) + t.e) : vb.x;
    var right = x1 > x0 ? Math.min(vb.x + vb.width, t.a * (x1 + m) + t.e) : vb.x + vb.width;
    var cw = right - left, ch = vb.y + vb.height - top;
    cut = cw > 0 && ch > 0 ? [[left, top, cw, ch].join(' '), w * cw / vb.width, h * ch / vb.height]
                           : whole;
    return true;
  }
  function shape(s) {
    svg.setAttribute('viewBox', s[0]);
    svg.setAttribute('width', s[1]);
    svg.setAttribute('height', s[2]);
  }
  /* The legend goes beside the picture when the picture is taller than the box and the two
     fit side by side, each shrunk to no less than MIN_FIT of its size (with the gap, and 20 px
     for the box's scroll bar); the legend shrinks first, the picture only after it. */
  function place() {
    if (!legend || !measure()) { return; }
    var fitted = Math.min(whole[1], Math.max(root.clientWidth, whole[1] * MIN_FIT));
    var most = parseFloat(window.getComputedStyle(box).maxHeight) || Infinity;
    var free = root.clientWidth - 12 - 20 - cut[1] * MIN_FIT, own = aside.width.baseVal.value;
    var on = whole[2] * fitted / whole[1] > most && own * MIN_FIT <= free;
    var spare = root.clientWidth - 12 - 20 - cut[1];  /* beside the picture at its own size */
    if (on) { aside.style.width = Math.max(own * MIN_FIT, Math.min(own, spare)) + 'px'; }
    if (on === (legend.parentNode === aside)) { return; }
    if (on) {
      legend.removeAttribute('transform');
      aside.appendChild(legend);
      box.parentNode.insertBefore(aside, box);
      shape(cut);
    } else {
      home.insertBefore(legend, after);
      aside.parentNode.removeChild(aside);
      shape(whole);
    }
    root.classList.toggle('mg-aside', on);
    setZoom(root.classList.contains('mg-zoomed'));
  }
  function pin() {
    if (!legend || !band || legend.parentNode !== home || !home.getScreenCTM) { return; }
    if (!box.scrollLeft && !legend.getAttribute('transform')) { return; }
    try {
      var ctm = home.getScreenCTM();
      if (!ctm || !ctm.a) { return; }
      var room = band.getBBox().width - legend.getBBox().width - 8;
      var dx = Math.max(0, Math.min(box.scrollLeft / ctm.a, room));
      legend.setAttribute('transform', 'translate(' + dx + ' 0)');
    } catch (e) { /* the legend stays where graphviz drew it */ }
  }
  box.addEventListener('scroll', pin);
  var MIN_FIT = 0.75;
  function setZoom(on) {
    var natural = svg.width && svg.width.baseVal ? svg.width.baseVal.value : 0;
    var room = box.clientWidth;
    root.classList.toggle('mg-zoomed', on);
    if (natural && room) {
      var w = on ? natural : Math.min(natural, Math.max(room, natural * MIN_FIT));
      svg.style.width = w + 'px';
      svg.style.maxWidth = 'none';
    }
    if (zoom) {
      zoom.textContent = on ? 'fit width' : 'zoom 100%';
      zoom.disabled = !on && (!natural || natural <= room + 1);
    }
    pin();
  }
  function show(f, page) {
    f = Math.max(0, Math.min(data.n - 1, f | 0));
    cur = f;
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    Object.keys(slots).forEach(function (s) {
      var e = slots[s];
      if (!e) { return; }
      var tl = data.slots[s], k = 0;
      while (k + 1 < tl.length && tl[k + 1][0] <= f) { k++; }
      e.textContent = tl[k][1];
      if (tl[k][2]) { e.setAttribute('fill', tl[k][2]); }
      if (data.final[s] !== undefined && f < data.final[s]) { mark(s, 'mg-pending'); }
    });
    var fr = data.frames[f];
    fr.cur.forEach(function (id) { mark(id, 'mg-cur'); });
    fr.used.forEach(function (id) { mark(id, 'mg-used'); });
    fr.changed.forEach(function (id) { mark(id, 'mg-changed'); });
    caption.textContent = fr.caption;
    counter.textContent = fr.counter;
    slider.value = f;
    root.querySelector('[data-act=prev]').disabled = f === 0;
    root.querySelector('[data-act=first]').disabled = f === 0;
    root.querySelector('[data-act=next]').disabled = f === data.n - 1;
    root.querySelector('[data-act=last]').disabled = f === data.n - 1;
    root.setAttribute('data-frame', String(f));
    if (standalone && window.history && history.replaceState) {
      try { history.replaceState(null, '', '#step=' + f); } catch (err) { /* file: URLs */ }
    }
    keep(page);
  }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    root.querySelector('[data-act=play]').textContent = 'play';
  }
  function act(a) {
    if (a === 'zoom') { setZoom(!root.classList.contains('mg-zoomed')); keep(true); return; }
    if (a !== 'play') { stop(); }
    if (a === 'first') { show(0, true); }
    if (a === 'prev') { show(cur - 1, true); }
    if (a === 'next') { show(cur + 1, true); }
    if (a === 'last') { show(data.n - 1, true); }
    if (a === 'play') {
      if (timer) { stop(); return; }
      if (cur === data.n - 1) { show(0, true); }
      root.querySelector('[data-act=play]').textContent = 'pause';
      timer = setInterval(function () {
        if (cur >= data.n - 1) { stop(); } else { show(cur + 1, true); }
      }, 1200);
    }
  }
  root.querySelectorAll('button[data-act]').forEach(function (b) {
    b.addEventListener('click', function () { act(b.getAttribute('data-act')); });
  });
  slider.addEventListener('input', function () { stop(); show(parseInt(slider.value, 10), true); });
  function key(ev) {
    var t = ev.target && ev.target.tagName;
    if (t === 'INPUT' && ev.target !== slider) { return; }
    var m = {ArrowRight: 'next', ArrowDown: 'next', ArrowLeft: 'prev', ArrowUp: 'prev',
             Home: 'first', End: 'last', z: 'zoom'}[ev.key];
    if (m) { ev.preventDefault(); act(m); }
  }
  (standalone ? document : root).addEventListener('keydown', key);
  box.addEventListener('wheel', function (ev) {
    if (!ev.ctrlKey) { return; }
    ev.preventDefault();
    setZoom(ev.deltaY < 0);
    keep(false);
  }, {passive: false});
  /* A notebook may run this before the stepper is on the page (no size yet): size the
     picture whenever its box gets a new width, and bring the node back into view. */
  var width = -1, height = -1;
  function resized() {
    place();
    if (box.clientWidth === width && box.clientHeight === height) { return; }
    if (box.clientWidth !== width) {
      width = box.clientWidth;
      setZoom(root.classList.contains('mg-zoomed'));
    }
    height = box.clientHeight;
    keep(false);
  }
  if (window.ResizeObserver) {
    new ResizeObserver(resized).observe(box);
  } else {
    window.addEventListener('resize', resized);
  }
  resized();
  var start = 0;
  var hm = standalone && /step=(\d+)/.exec(window.location.hash || '');
  if (hm) { start = parseInt(hm[1], 10); }
  /* A notebook's stepper keeps the page where it is as it loads; a page of its own scrolls. */
  show(start, standalone);
})
