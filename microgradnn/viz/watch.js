/* Watch it learn (microgradnn.viz.watch): replays recorded training steps in one .mw-view
   element. Each step has four phases (forward, loss, backward, update); play, step, back and
   the slider move through them, with no kernel and no network. A page embeds this function
   expression in a script element and calls it with the element's id; the Jupyter widget
   (microgradnn.viz.widget) calls it with the element itself and a `kernel` object whose
   train(steps, lr) asks Python for more steps. Everything shown is read from the element's
   JSON data script (class mw-data). */
(function (cid, kernel) {
  var me = document.currentScript;
  var root = (typeof cid === 'object') ? cid
             : (me && me.parentNode && me.parentNode.classList &&
                me.parentNode.classList.contains('mw-view')) ? me.parentNode
             : document.getElementById(cid);
  if (!root || root.getAttribute('data-ready')) { return; }
  root.setAttribute('data-ready', '1');
  var D = JSON.parse(root.querySelector('script.mw-data').textContent);
  var note = root.querySelector('.mw-note');
  if (note) { note.style.display = 'none'; }
  var PHASES = ['forward', 'loss', 'backward', 'update'];
  var BLUE = '#1c7ed6', ORANGE = '#e8590c', RED = '#c92a2a', GREY = '#868e96';
  var LAYER_COLORS = ['#1c7ed6', '#2f9e44', '#ae3ec9', '#f08c00', '#0c8599', '#495057'];
  function q(sel) { return root.querySelector(sel); }
  var ids = {};
  root.querySelectorAll('[id]').forEach(function (e) { ids[e.id] = e; });
  function byId(id) { return ids[id] || null; }
  function f32(b64) {
    var s = atob(b64), u = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { u[i] = s.charCodeAt(i); }
    return new Float32Array(u.buffer);
  }
  function i8(b64) {
    var s = atob(b64), a = new Int8Array(s.length);
    for (var i = 0; i < s.length; i++) { a[i] = (s.charCodeAt(i) << 24) >> 24; }
    return a;
  }
  function fmt(x) {
    if (x === null || x === undefined || isNaN(x)) { return '…'; }
    if (x === 0) { return '0'; }
    var a = Math.abs(x);
    var s = (a >= 1e4 || a < 1e-3) ? x.toExponential(3) : x.toPrecision(4);
    return s.replace(/\.?0+(e|$)/, '$1').replace('-', '\u2212');
  }
  var N = D.n, P = D.names.length;
  var values = f32(D.values), grads = D.grads ? f32(D.grads) : new Float32Array(0);
  var stateNames = Object.keys(D.state), state = {};
  stateNames.forEach(function (k) { state[k] = f32(D.state[k]); });
  var STATE_LABEL = {exp_avg: 'm (exp_avg)', exp_avg_sq: 'v (exp_avg_sq)',
                     momentum_buffer: 'momentum buf', square_avg: 's (square_avg)',
                     grad_avg: 'g avg', max_exp_avg_sq: 'max v'};
  var grids = D.grid ? D.grid.q.map(i8) : null;
  var sure = D.grid && D.grid.sure ? D.grid.sure.map(i8) : null;
  var K = D.grid ? D.grid.classes : 1;
  var CLASS_COLORS = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
                      [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
                      [188, 189, 34], [23, 190, 207]];
  function rgb(c) { return 'rgb(' + c.join(',') + ')'; }
  function pointColor(i) {
    var l = D.labels ? D.labels[i] : 0;
    if (K > 1) { return rgb(CLASS_COLORS[l % 10]); }
    return l > 0 ? BLUE : ORANGE;
  }
  var contribQ = D.contrib.q.map(i8), S = D.contrib.params.length;
  var contribScale = D.contrib.scale ? f32(D.contrib.scale) : new Float32Array(0);
  var contribL2 = D.contrib.l2 ? f32(D.contrib.l2) : new Float32Array(0);
  var first = {};
  D.contrib.params.forEach(function (p, k) { first[p] = k; });
  var cur = D.n - 1, ph = 3, ex = D.example, param = 0, timer = null, message = '';
  var scrub = q('.mw-scrub'), speed = q('.mw-speed'), phased = q('.mw-phased');
  var playBtn = q('[data-act=play]');

  /* -- the graph: every changing text by id, per watched example and frame -------------- */
  var G = D.graph, textEls = [], backward = {}, lossEls = [], fixed = [];
  if (G && G.ok) {
    textEls = G.ids.map(function (id) { return byId(id); });
    G.backward.forEach(function (id) { backward[id] = true; });
    var changing = {};
    G.ids.forEach(function (id) { changing[id] = true; });
    fixed = G.backward.filter(function (id) { return !changing[id]; })
      .map(function (id) { return byId(id); })
      .filter(function (e) { return e; })
      .map(function (e) { return [e, e.textContent]; });
    lossEls = G.loss.map(function (id) { return byId(id); })
      .filter(function (e) { return e; });
  }
  /* a text the frame does not change is not written: each write costs the SVG a layout */
  function setText(e, text) { if (e.textContent !== text) { e.textContent = text; } }
  function textAt(series, f) {
    for (var k = f; k >= 0; k--) { if (series[k] !== 0) { return series[k]; } }
    return '';
  }
  function showGraph(f, p) {
    if (!G || !G.ok) { return; }
    var rows = G.texts[String(ex)];
    if (!rows) { return; }
    textEls.forEach(function (e, k) {
      if (!e) { return; }
      var id = G.ids[k], back = !!backward[id], pending = back && p < 2;
      setText(e, pending ? '…' : G.prefix[k] + textAt(rows[k], f));
      e.classList.toggle('mw-pending', pending);
      e.classList.toggle('mw-fresh', back && p === 2);
    });
    fixed.forEach(function (it) {
      setText(it[0], p < 2 ? '…' : it[1]);
      it[0].classList.toggle('mw-pending', p < 2);
    });
    lossEls.forEach(function (e) { e.classList.toggle('mw-hl', p === 1); });
    var exLoss = D.exampleLoss[String(ex)][f];
    q('.mw-example').textContent = 'example ' + ex + ' (label ' +
      (D.labels ? D.labels[ex] : '?') + '), its own loss ' + fmt(exLoss) +
      (message ? ' · ' + message : '');
  }

  /* -- decision boundary --------------------------------------------------------------- */
  var bc = q('.mw-boundary'), bx = bc.getContext('2d');
  var W = bc.width, H = bc.height, lim = null;
  if (D.grid) { lim = {x: D.grid.x, y: D.grid.y}; }
  function sx(x) { return (x - lim.x[0]) / (lim.x[1] - lim.x[0]) * W; }
  function sy(y) { return H - (y - lim.y[0]) / (lim.y[1] - lim.y[0]) * H; }
  var off = document.createElement('canvas');
  function drawBoundary(gi, vi, f) {
    if (!D.grid || !D.points) {
      bx.clearRect(0, 0, W, H);
      bx.fillStyle = GREY; bx.font = '13px Helvetica';
      bx.fillText('a boundary needs 2-D inputs (and one output or classes)', 10, 20);
      return;
    }
    var n = D.grid.n, g = grids[gi];
    off.width = n; off.height = n;
    var ox = off.getContext('2d'), img = ox.createImageData(n, n);
    for (var r = 0; r < n; r++) {
      for (var c = 0; c < n; c++) {
        var v = g[r * n + c], k = ((n - 1 - r) * n + c) * 4, a, col;
        if (K > 1) {
          a = 0.12 + 0.45 * sure[gi][r * n + c] / 127;
          col = CLASS_COLORS[v % 10];
        } else {
          a = 0.12 + 0.45 * Math.abs(v) / 127;
          col = v > 0 ? [28, 126, 214] : [232, 89, 12];
        }
        img.data[k] = 255 - (255 - col[0]) * a;
        img.data[k + 1] = 255 - (255 - col[1]) * a;
        img.data[k + 2] = 255 - (255 - col[2]) * a;
        img.data[k + 3] = 255;
      }
    }
    ox.putImageData(img, 0, 0);
    bx.imageSmoothingEnabled = true;
    bx.drawImage(off, 0, 0, W, H);
    bx.save();
    bx.setLineDash([5, 4]); bx.strokeStyle = '#343a40'; bx.lineWidth = 1;
    D.firstLayer.forEach(function (idx, k) {
      if (idx.length < 2) { return; }
      var w0 = values[vi * P + idx[0]], w1 = values[vi * P + idx[1]];
      var b = idx.length > 2 ? values[vi * P + idx[2]] : 0;
      var pts = [];
      if (Math.abs(w1) > 1e-12) {
        pts = [[lim.x[0], -(w0 * lim.x[0] + b) / w1], [lim.x[1], -(w0 * lim.x[1] + b) / w1]];
      } else if (Math.abs(w0) > 1e-12) {
        pts = [[-b / w0, lim.y[0]], [-b / w0, lim.y[1]]];
      }
      if (!pts.length) { return; }
      bx.beginPath(); bx.moveTo(sx(pts[0][0]), sy(pts[0][1]));
      bx.lineTo(sx(pts[1][0]), sy(pts[1][1])); bx.stroke();
    });
    bx.restore();
    var inBatch = {};
    D.batch[f].forEach(function (i) { inBatch[i] = true; });
    var watched = {};
    D.watched.forEach(function (i) { watched[i] = true; });
    D.points.forEach(function (p, i) {
      var x = sx(p[0]), y = sy(p[1]);
      bx.beginPath(); bx.arc(x, y, inBatch[i] ? 4.5 : 3.5, 0, 2 * Math.PI);
      bx.fillStyle = pointColor(i);
      bx.globalAlpha = inBatch[i] ? 1 : 0.35; bx.fill(); bx.globalAlpha = 1;
      if (inBatch[i]) { bx.lineWidth = 1.5; bx.strokeStyle = '#000'; bx.stroke(); }
      if (watched[i]) {
        bx.beginPath(); bx.arc(x, y, 8, 0, 2 * Math.PI);
        bx.lineWidth = i === ex ? 3 : 1.5; bx.strokeStyle = i === ex ? RED : '#000';
        bx.stroke();
      }
    });
  }
  function legend(sel, items) {
    q(sel).innerHTML = items.map(function (it) {
      return '<span class="mw-key"><span class="mw-sw" style="' + it[0] + '"></span>' +
        it[1] + '</span>';
    }).join('');
  }
  var classKeys = K > 1 ? [].concat.apply([], CLASS_COLORS.slice(0, K).map(function (c, k) {
    return [['background:' + rgb(c) + ';opacity:.45', 'predicted class ' + k +
             (k === K - 1 ? ' (paler: less sure)' : '')]];
  })).concat([['background:#868e96;border-radius:50%', "point: its class's colour"]]) : [
    ['background:' + BLUE + ';opacity:.45', 'predicted class 1'],
    ['background:' + ORANGE + ';opacity:.45', 'predicted class 0 (paler: near the boundary)'],
    ['background:' + BLUE + ';border-radius:50%', 'point, class 1'],
    ['background:' + ORANGE + ';border-radius:50%', 'point, class 0']];
  legend('.mw-boundary-legend', classKeys.concat([
    ['border:1.5px solid #000;border-radius:50%', 'black edge: in this batch (others faded)'],
    ['border:2px solid ' + RED + ';border-radius:50%;background:#fff', 'the example shown ' +
     '(click a ringed point: graphs are recorded for ringed examples)'],
    ['border-top:1.5px dashed #343a40;height:0', "a first-layer neuron's zero line, w·x + b = 0"]
  ]));

  /* -- loss and gradient curves -------------------------------------------------------- */
  function chart(canvas, series, mark, opts) {
    var cx = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
    var L = 44, R = 8, T = 8, B = 20;
    cx.clearRect(0, 0, w, h);
    var lo = Infinity, hi = -Infinity, xmax = 1;
    series.forEach(function (s) {
      s.y.forEach(function (v, i) {
        if (v === null || !isFinite(v) || (opts.log && v <= 0)) { return; }
        var t = opts.log ? Math.log10(v) : v;
        lo = Math.min(lo, t); hi = Math.max(hi, t);
        xmax = Math.max(xmax, s.x0 + i);
      });
    });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (!opts.log) { lo = Math.min(lo, 0); }
    if (hi - lo < 1e-12) { hi = lo + 1; }
    function X(i) { return L + i / xmax * (w - L - R); }
    function Y(v) { return T + (1 - ((opts.log ? Math.log10(v) : v) - lo) / (hi - lo)) * (h - T - B); }
    cx.strokeStyle = '#ced4da'; cx.lineWidth = 1;
    cx.beginPath(); cx.moveTo(L, T); cx.lineTo(L, h - B); cx.lineTo(w - R, h - B); cx.stroke();
    cx.fillStyle = '#495057'; cx.font = '11px Helvetica';
    var top = opts.log ? Math.pow(10, hi) : hi, bottom = opts.log ? Math.pow(10, lo) : lo;
    cx.fillText(fmt(top), 2, T + 9); cx.fillText(fmt(bottom), 2, h - B);
    cx.fillText('step ' + xmax, w - R - 48, h - 5); cx.fillText('0', L, h - 5);
    series.forEach(function (s) {
      cx.strokeStyle = s.color; cx.fillStyle = s.color; cx.lineWidth = s.width || 1.6;
      if (s.dots) {
        s.y.forEach(function (v, i) {
          if (v === null || !isFinite(v)) { return; }
          cx.fillRect(X(s.x0 + i) - 1, Y(v) - 1, 2, 2);
        });
        return;
      }
      cx.beginPath();
      var on = false;
      s.y.forEach(function (v, i) {
        if (v === null || !isFinite(v) || (opts.log && v <= 0)) { on = false; return; }
        if (on) { cx.lineTo(X(s.x0 + i), Y(v)); } else { cx.moveTo(X(s.x0 + i), Y(v)); }
        on = true;
      });
      cx.stroke();
    });
    cx.strokeStyle = RED; cx.lineWidth = 1.5;
    cx.beginPath(); cx.moveTo(X(mark), T); cx.lineTo(X(mark), h - B); cx.stroke();
  }
  var lossSeries = [{y: D.batchLoss, x0: 1, color: '#adb5bd', dots: true},
                    {y: D.trainLoss, x0: 0, color: BLUE}];
  var lossKeys = [['background:#adb5bd', 'batch loss (what backward() starts from)'],
                  ['background:' + BLUE + ';height:3px', 'training loss (all examples)']];
  if (D.valLoss) {
    lossSeries.push({y: D.valLoss, x0: 1, color: ORANGE});
    lossKeys.push(['background:' + ORANGE + ';height:3px', 'validation loss']);
  }
  lossKeys.push(['background:' + RED + ';width:2px', 'now']);
  legend('.mw-loss-legend', lossKeys);
  var gradSeries = D.layers.map(function (name, k) {
    return {y: D.layerGrad.map(function (r) { return r[k]; }), x0: 1,
            color: LAYER_COLORS[k % LAYER_COLORS.length]};
  });
  legend('.mw-grads-legend', D.layers.map(function (name, k) {
    return ['background:' + LAYER_COLORS[k % LAYER_COLORS.length] + ';height:3px',
            name + (k === 0 ? ' (first)' : '')];
  }).concat([['', '(log scale)']]));

  /* -- one weight's gradient, example by example --------------------------------------- */
  var sel = q('.mw-param');
  sel.innerHTML = D.contrib.params.map(function (p, k) {
    return '<option value="' + k + '">' + D.names[p] + '</option>';
  }).join('');
  sel.addEventListener('change', function () { param = parseInt(sel.value, 10); render(); });
  legend('.mw-contrib-legend', [
    ['background:' + BLUE, 'an example pushes this grad up'],
    ['background:' + ORANGE, '… or down'],
    ['background:' + RED + ';border:1px solid ' + RED, 'the example shown'],
    ['background:#ae3ec9', 'L2 term (2·l2·w)'],
    ['background:#000;height:2px', 'running sum, ending at the batch grad (black bar)']]);
  function drawContrib(f, p) {
    var c = q('.mw-contrib'), cx = c.getContext('2d'), w = c.width, h = c.height;
    cx.clearRect(0, 0, w, h);
    cx.font = '12px Helvetica'; cx.fillStyle = '#495057';
    if (p < 2) {
      cx.fillText('the gradient appears in the backward phase', 10, 20);
      return;
    }
    var rows = D.batch[f], B = rows.length;
    var qa = contribQ[f], scale = contribScale[f * S + param];
    var pid = D.contrib.params[param], l2 = contribL2[f * S + param];
    var used = grads[f * P + pid], k = D.clipScale[f];
    var total = k < 1 && k > 0 ? used / k : used;  /* backward's grad: the bars add up to it */
    var vals = [], run = [], acc = 0;
    for (var i = 0; i < B; i++) {
      vals.push(qa[param * B + i] / 127 * scale);
      acc += vals[i]; run.push(acc);
    }
    run.push(acc + l2);
    var most = Math.max(scale, Math.abs(l2), 1e-30), far = Math.abs(total);
    run.forEach(function (r) { far = Math.max(far, Math.abs(r)); });
    var top = 36, bottom = h - 16, mid = (top + bottom) / 2, half = (bottom - top) / 2;
    var L = 4, slot = (w - L - 60) / Math.max(B + 1, 1);
    var bw = Math.max(1, slot - (slot > 3 ? 1 : 0));
    cx.strokeStyle = '#adb5bd'; cx.beginPath(); cx.moveTo(0, mid); cx.lineTo(w, mid);
    cx.stroke();
    vals.forEach(function (v, i) {
      var hgt = v / most * half;
      cx.fillStyle = rows[i] === ex ? RED : (v >= 0 ? BLUE : ORANGE);
      cx.fillRect(L + i * slot, hgt >= 0 ? mid - hgt : mid, bw, Math.max(Math.abs(hgt), 1));
    });
    var lh = l2 / most * half;
    cx.fillStyle = '#ae3ec9';
    cx.fillRect(L + B * slot, lh >= 0 ? mid - lh : mid, Math.max(bw, 3), Math.abs(lh));
    cx.strokeStyle = '#000'; cx.lineWidth = 1.5; cx.beginPath();
    run.forEach(function (r, i) {
      var y = mid - r / far * half, x = L + (i + 1) * slot;
      if (i === 0) { cx.moveTo(L, mid); }
      cx.lineTo(x, y);
    });
    cx.stroke();
    var th = total / far * half;
    cx.fillStyle = '#000'; cx.fillRect(w - 40, th >= 0 ? mid - th : mid, 16, Math.abs(th));
    cx.fillStyle = '#212529';
    cx.fillText(B + ' examples + L2 = grad of ' + D.names[pid] + ' = ' + fmt(total) +
                (used !== total ? ', clipped to ' + fmt(used) : ''), 4, 14);
    cx.fillText('bars: up to ' + fmt(scale) + ' each; line: running sum (to ' + fmt(far) +
                ', own scale)', 4, 29);
    cx.fillText('grad', w - 44, h - 3);
  }

  /* -- the update table ---------------------------------------------------------------- */
  var tbl = q('.mw-table');
  /* The table is built once; a frame rewrites the cells that change and moves rows only when
     the order by |new - old| changes (rebuilding it cost more than all else in a frame). */
  var rowEls = [], cellEls = [], shownOrder = '';
  function buildTable() {
    var head = '<tr><th>parameter</th><th>old value</th><th>' +
      (D.clip !== null ? 'grad (clipped)' : 'grad') + '</th><th>lr</th>' +
      stateNames.map(function (k) { return '<th>' + (STATE_LABEL[k] || k) + '</th>'; }).join('') +
      '<th>new value</th><th>new − old</th></tr>';
    var cols = 6 + stateNames.length, body = '';
    for (var i = 0; i < P; i++) {
      var cls = first[i] !== undefined ? ' class="mw-first"' : '';
      body += '<tr data-param="' + i + '"' + cls + '>';
      for (var k = 0; k < cols; k++) { body += '<td data-col="' + k + '"></td>'; }
      body += '</tr>';
    }
    tbl.innerHTML = '<table><thead>' + head + '</thead><tbody>' + body + '</tbody></table>';
    var rows = tbl.querySelectorAll('tbody tr');
    for (var j = 0; j < P; j++) {
      rowEls.push(rows[j]);
      cellEls.push(rows[j].cells);
      rows[j].cells[0].textContent = D.names[j];
    }
  }
  function drawTable(f, p) {
    if (!rowEls.length) { buildTable(); }
    var old = f * P, nw = (f + 1) * P, order = [];
    for (var i = 0; i < P; i++) { order.push(i); }
    order.sort(function (a, b) {
      return Math.abs(values[nw + b] - values[old + b]) - Math.abs(values[nw + a] - values[old + a]);
    });
    var key = order.join(',');
    if (key !== shownOrder) {
      var body = tbl.querySelector('tbody');
      order.forEach(function (i) { body.appendChild(rowEls[i]); });
      shownOrder = key;
    }
    for (var j = 0; j < P; j++) {
      var c = cellEls[j], n = 1;
      rowEls[j].classList.toggle('mw-sel', first[j] !== undefined && first[j] === param);
      setText(c[n++], fmt(values[old + j]));
      setText(c[n++], p >= 2 ? fmt(grads[old + j]) : '…');
      setText(c[n++], fmt(D.lr[f]));
      stateNames.forEach(function (k) { setText(c[n++], p >= 3 ? fmt(state[k][old + j]) : '…'); });
      setText(c[n++], p >= 3 ? fmt(values[nw + j]) : '…');
      setText(c[n++], p >= 3 ? fmt(values[nw + j] - values[old + j]) : '…');
    }
    tbl.classList.toggle('mw-active', p === 3);
  }
  tbl.addEventListener('click', function (ev) {
    var tr = ev.target.closest ? ev.target.closest('tr[data-param]') : null;
    if (!tr) { return; }
    var k = first[parseInt(tr.getAttribute('data-param'), 10)];
    if (k !== undefined) { param = k; sel.value = String(k); render(); }
  });

  /* -- captions and the whole frame ---------------------------------------------------- */
  function caption(f, p) {
    var B = D.batch[f].length, lossName = D.loss;
    var l2 = D.l2 > 0 ? ' + L2 ' + fmt(D.l2) + '·Σp²' : '';
    if (p === 0) {
      return 'Forward: the ' + B + ' examples of this batch go through the network with the ' +
        'weights before step ' + (f + 1) + '. The graph shows example ' + ex + "'s values; " +
        'its grads are not computed yet (…).';
    }
    if (p === 1) {
      return 'Loss: the mean ' + lossName + ' over the batch' + l2 + ' = ' +
        fmt(D.batchLoss[f]) + '. Example ' + ex + "'s own loss (highlighted in the graph) = " +
        fmt(D.exampleLoss[String(ex)][f]) + '.';
    }
    var clipped = D.clip !== null && D.clipScale[f] < 1;
    if (p === 2) {
      return 'Backward: loss.backward() fills every grad (the graph shows example ' + ex +
        "'s own backward pass). The bars: each batch example's share of one weight's grad; " +
        'with the L2 term they add up to the batch\'s grad' + (clipped ?
          ', whose norm ' + fmt(D.gradNorm[f]) + ' is over clip_grad_norm ' + fmt(D.clip) +
          ': every grad is scaled by ' + fmt(D.clipScale[f]) + ' before the update.' :
          ', the grad the optimizer uses.');
    }
    var h = Object.keys(D.hypers).map(function (k) { return k + '=' + D.hypers[k]; });
    return 'Update: optimizer.step() (' + D.optimizer + ', ' + h.join(', ') + ') moves every ' +
      'parameter (the table, largest moves first' + (clipped ? '; its grads are the clipped ' +
      'ones, × ' + fmt(D.clipScale[f]) : '') + '); the boundary and the zero lines move, ' +
      'and the training loss becomes ' + fmt(D.trainLoss[f + 1]) + '.';
  }
  function render() {
    var f = cur, p = ph;
    var vi = p === 3 ? f + 1 : f;
    q('.mw-counter').textContent = 'step ' + (f + 1) + ' of ' + N + ' · epoch ' +
      (D.epoch[f] + 1) + ' · batch of ' + D.batch[f].length + ' · ' + PHASES[p];
    root.querySelectorAll('.mw-phase').forEach(function (e) {
      e.classList.toggle('mw-on', parseInt(e.getAttribute('data-phase'), 10) === p);
    });
    q('.mw-caption').textContent = caption(f, p);
    drawBoundary(vi, vi, f);
    chart(q('.mw-loss'), lossSeries, vi, {log: false});
    chart(q('.mw-grads'), gradSeries, p >= 2 ? f + 1 : f, {log: true});
    var dead = D.dead[f].map(function (d, k) { return d === null ? null : D.layers[k] + ': ' + d; })
      .filter(function (s) { return s; });
    q('.mw-dead').textContent = dead.length ? '· dead ReLUs after the step: ' + dead.join(', ') : '';
    drawContrib(f, p);
    drawTable(f, p);
    showGraph(f, p);
    scrub.value = f;
    root.setAttribute('data-frame', String(f));
    root.setAttribute('data-phase', PHASES[p]);
    root.setAttribute('data-example', String(ex));
  }
  function go(f, p) {
    cur = Math.max(0, Math.min(N - 1, f));
    ph = p;
    render();
  }
  function next() {
    if (!phased.checked) { go(cur + 1, 3); return; }
    if (ph < 3) { go(cur, ph + 1); } else if (cur < N - 1) { go(cur + 1, 0); }
  }
  function prev() {
    if (!phased.checked) { go(cur - 1, 3); return; }
    if (ph > 0) { go(cur, ph - 1); } else if (cur > 0) { go(cur - 1, 3); }
  }
  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    playBtn.textContent = 'play';
    root.removeAttribute('data-playing');
  }
  function tick() {
    if (cur >= N - 1 && ph === 3) { stop(); return; }
    next();
    timer = setTimeout(tick, 1000 / parseInt(speed.value, 10));
  }
  var status = q('.mw-status');
  function say(text) { if (status) { status.textContent = text; } }
  function train() {
    var n = parseInt(q('.mw-more').value, 10), lr = parseFloat(q('.mw-lr').value);
    if (!(n >= 1)) { say('steps: expected a whole number of at least 1'); return; }
    if (!(lr >= 0)) { say('lr: expected a number of at least 0'); return; }
    q('[data-act=train]').disabled = true;
    say('training ' + n + ' more step' + (n === 1 ? '' : 's') + ' in the kernel…');
    try {
      kernel.train(n, lr);
    } catch (err) {
      q('[data-act=train]').disabled = false;
      say('the kernel did not answer (' + err + '); the recorded steps still play');
    }
  }
  function act(a) {
    if (a === 'train') { if (kernel) { stop(); train(); } return; }
    if (a === 'zoom') {
      var box = q('.mw-graph'), on = !box.classList.contains('mw-fit');
      box.classList.toggle('mw-fit', on);
      q('.mw-zoom').textContent = on ? 'zoom 100%' : 'fit width';
      return;
    }
    if (a !== 'play') { stop(); }
    if (a === 'reset') { go(0, 0); }
    if (a === 'prev') { prev(); }
    if (a === 'next') { next(); }
    if (a === 'play') {
      if (timer) { stop(); return; }
      if (cur >= N - 1 && ph === 3) { go(0, 0); }
      playBtn.textContent = 'pause';
      root.setAttribute('data-playing', '1');
      timer = setTimeout(tick, 1000 / parseInt(speed.value, 10));
    }
  }
  root.querySelectorAll('button[data-act]').forEach(function (b) {
    b.addEventListener('click', function () { act(b.getAttribute('data-act')); });
  });
  scrub.addEventListener('input', function () { stop(); go(parseInt(scrub.value, 10), 3); });
  bc.addEventListener('click', function (ev) {
    if (!D.points || !lim) { return; }
    var r = bc.getBoundingClientRect();
    var x = (ev.clientX - r.left) * W / r.width, y = (ev.clientY - r.top) * H / r.height;
    var best = -1, dist = 15 * 15;
    D.points.forEach(function (p, i) {
      var d = Math.pow(sx(p[0]) - x, 2) + Math.pow(sy(p[1]) - y, 2);
      if (d < dist) { dist = d; best = i; }
    });
    if (best < 0) { return; }
    if (D.watched.indexOf(best) >= 0 && G && G.ok && !G.texts[String(best)]) {
      message = 'example ' + best + "'s graph has another shape (its target picks other " +
        'terms of the loss), so it is not drawn on this layout';
    } else if (D.watched.indexOf(best) >= 0) {
      ex = best; message = '';
    } else {
      message = 'example ' + best + "'s graph was not recorded (only the ringed examples " +
        D.watched.join(', ') + '; see TrainingView(examples=...))';
    }
    render();
  });
  var standalone = document.body && document.body.hasAttribute('data-mw-standalone');
  (standalone ? document : root).addEventListener('keydown', function (ev) {
    var t = ev.target && ev.target.tagName;
    if ((t === 'INPUT' && ev.target !== scrub) || t === 'SELECT') { return; }
    var m = {ArrowRight: 'next', ArrowLeft: 'prev', Home: 'reset', ' ': 'play'}[ev.key];
    if (m) { ev.preventDefault(); act(m); }
  });
  render();
  return {
    say: function (text) {
      var b = q('[data-act=train]');
      if (b) { b.disabled = false; }
      say(text);
    }
  };
})
