/* The backward stepper (microgradnn.viz.stepper): prev/next, slider, play, keyboard and
   #step=N for one .mg-stepper element. The page embeds this function expression in a script
   element and calls it with the element's id, ("mg..._stepper"). It reads the frames from
   the element's JSON data script (class mg-data) and fetches nothing. */
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
  function show(f) {
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
  }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    root.querySelector('[data-act=play]').textContent = 'play';
  }
  function act(a) {
    if (a !== 'play') { stop(); }
    if (a === 'first') { show(0); }
    if (a === 'prev') { show(cur - 1); }
    if (a === 'next') { show(cur + 1); }
    if (a === 'last') { show(data.n - 1); }
    if (a === 'play') {
      if (timer) { stop(); return; }
      if (cur === data.n - 1) { show(0); }
      root.querySelector('[data-act=play]').textContent = 'pause';
      timer = setInterval(function () {
        if (cur >= data.n - 1) { stop(); } else { show(cur + 1); }
      }, 1200);
    }
  }
  root.querySelectorAll('button[data-act]').forEach(function (b) {
    b.addEventListener('click', function () { act(b.getAttribute('data-act')); });
  });
  slider.addEventListener('input', function () { stop(); show(parseInt(slider.value, 10)); });
  function key(ev) {
    var t = ev.target && ev.target.tagName;
    if (t === 'INPUT' && ev.target !== slider) { return; }
    var m = {ArrowRight: 'next', ArrowDown: 'next', ArrowLeft: 'prev', ArrowUp: 'prev',
             Home: 'first', End: 'last'}[ev.key];
    if (m) { ev.preventDefault(); act(m); }
  }
  (standalone ? document : root).addEventListener('keydown', key);
  var start = 0;
  var hm = standalone && /step=(\d+)/.exec(window.location.hash || '');
  if (hm) { start = parseInt(hm[1], 10); }
  show(start);
})
