/* Two backward steppers side by side (microgradnn.viz.stepper.compare_backward): one slider
   and one set of buttons drive both; play stops at the first frame where a number differs;
   the grads that differ at the shown frame are marked (class mg-diff). The page embeds this
   function expression in a script element and calls it with the comparison element's id. */
(function (cid) {
  var root = document.getElementById(cid);
  if (!root || root.getAttribute('data-ready')) { return; }
  root.setAttribute('data-ready', '1');
  var data = JSON.parse(root.querySelector('script.mg-compare-data').textContent);
  var panes = root.querySelectorAll('.mg-pane .mg-stepper');
  var slider = root.querySelector('.mg-compare-controls input[type=range]');
  var counter = root.querySelector('.mg-compare-counter');
  root.querySelector('.mg-compare-controls').hidden = false;
  var cur = 0, timer = null, marked = [];
  function prefix(pane) { return pane.id.replace(/stepper$/, ''); }
  function show(f) {
    f = Math.max(0, Math.min(data.n - 1, f | 0));
    cur = f;
    marked.forEach(function (e) { e.classList.remove('mg-diff'); });
    marked = [];
    Array.prototype.forEach.call(panes, function (pane) {
      var s = pane.querySelector('input[type=range]');
      s.value = Math.min(f, parseInt(s.max, 10));
      s.dispatchEvent(new Event('input'));
      (data.differing[f] || []).forEach(function (slot) {
        var e = pane.querySelector('[id="' + prefix(pane) + slot + '"]');
        if (e) { e.classList.add('mg-diff'); marked.push(e); }
      });
    });
    slider.value = f;
    root.setAttribute('data-frame', String(f));
    counter.textContent = data.stop === f ? 'frame ' + f + ': the first difference' :
      'frame ' + f + ' of ' + (data.n - 1);
  }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    root.querySelector('[data-act=play]').textContent = 'play';
  }
  function act(a) {
    if (a !== 'play') { stop(); }
    if (a === 'prev') { show(cur - 1); }
    if (a === 'next') { show(cur + 1); }
    if (a === 'first') { show(0); }
    if (a === 'last') { show(data.n - 1); }
    if (a === 'difference' && data.stop !== null) { show(data.stop); }
    if (a === 'play') {
      if (timer) { stop(); return; }
      var end = data.stop === null ? data.n - 1 : data.stop;
      if (cur >= end) { show(0); }
      root.querySelector('[data-act=play]').textContent = 'pause';
      timer = setInterval(function () {
        if (cur >= end) { stop(); } else { show(cur + 1); }
      }, 1200);
    }
  }
  root.querySelectorAll('.mg-compare-controls button[data-act]').forEach(function (b) {
    b.addEventListener('click', function () { act(b.getAttribute('data-act')); });
  });
  slider.addEventListener('input', function () { stop(); show(parseInt(slider.value, 10)); });
  show(data.stop === null ? 0 : data.stop);
})
