"""``ferroboard plot LOGDIR``: scalars without a browser or a server.

To a PNG or SVG (matplotlib, imported only here, with a message saying what to install when
it is missing), or to one self-contained HTML file (inline SVG and a little JavaScript: drag
to zoom, double-click to reset, a smoothing slider; no server, nothing fetched). One panel per
tag (small multiples), one line per run. Smoothing is TensorBoard's: an exponential moving
average, debiased, skipped for constant series and non-finite points (:func:`smooth`).
Restarted runs are shown as TensorBoard shows them (superseded points dropped).
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import json
import math
import os
import sys
from typing import Any, Optional, TextIO

import numpy as np

from ..reader.api import read_scalars
from ._output import EXIT_OK, EXIT_USAGE

__all__ = ["add_parser", "cmd_plot", "load_series", "smooth"]

#: run -> (steps, values, wall times), per tag.
Series = dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]

PANEL_W, PANEL_H, MAX_COLS = 420, 300, 3
#: Run colors (TensorBoard's palette).
COLORS = ["#ff7043", "#0077bb", "#cc3311", "#33bbee", "#ee3377", "#009988", "#bbbbbb"]


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's scalar smoothing: ``last = last * w + (1 - w) * v``, divided by the
    debias factor ``1 - w ** n`` (n finite points so far); a constant series and non-finite
    points are left as they are."""
    v = np.asarray(values, dtype=np.float64)
    out: np.ndarray = v.copy()
    if weight <= 0 or len(v) == 0 or bool(np.all(v == v[0])):
        return out
    last, n = 0.0, 0
    for i, x in enumerate(v):
        if not math.isfinite(x):
            continue
        last = last * weight + (1 - weight) * x
        n += 1
        out[i] = last / (1 - weight**n) if weight != 1 else last
    return out


def load_series(
    logdir: str, runs: Optional[list[str]] = None, tags: Optional[list[str]] = None
) -> Series:
    """The scalars of ``logdir`` whose run and tag match one of the globs (all by default),
    as TensorBoard shows them (restarts applied), each series in step order."""
    s = read_scalars(logdir, purge_restarts=True)
    tag_names, tag_codes = np.unique(s["tag"].astype(str), return_inverse=True)
    run_names, run_codes = np.unique(s["run"].astype(str), return_inverse=True)
    # One sort by (tag, run, step), then each series is a slice (stable: equal steps keep
    # their order).
    order = np.lexsort((s["step"], run_codes, tag_codes))
    keys = tag_codes[order] * len(run_names) + run_codes[order]
    starts: list[int] = (
        np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).tolist() if len(keys) else []
    )
    out: Series = {}
    for a, b in zip(starts, [*starts[1:], len(keys)]):
        idx = order[a:b]
        tag, run = str(tag_names[tag_codes[idx[0]]]), str(run_names[run_codes[idx[0]]])
        if tags and not any(fnmatch.fnmatchcase(tag, g) for g in tags):
            continue
        if runs and not any(fnmatch.fnmatchcase(run, g) for g in runs):
            continue
        out.setdefault(tag, {})[run] = (s["step"][idx], s["value"][idx], s["wall_time"][idx])
    return out


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, MAX_COLS)
    return cols, (n + cols - 1) // cols


def default_size(n_tags: int) -> tuple[int, int]:
    """The image size in pixels for ``n_tags`` panels: ``PANEL_W x PANEL_H`` each, at most
    ``MAX_COLS`` per row."""
    cols, rows = _grid(max(n_tags, 1))
    return cols * PANEL_W, rows * PANEL_H


def plot_image(series: Series, path: str, size: tuple[int, int], weight: float) -> None:
    """PNG or SVG (by ``path``'s extension) of exactly ``size`` pixels, via matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "ferroboard plot: PNG and SVG output need matplotlib (pip install matplotlib); "
            "an .html output needs nothing"
        ) from None
    tags = list(series)
    cols, rows = _grid(len(tags))
    dpi = 100
    fig, axes = plt.subplots(
        rows, cols, figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, squeeze=False
    )
    runs = sorted({r for t in tags for r in series[t]})
    color = {r: COLORS[i % len(COLORS)] for i, r in enumerate(runs)}
    for i, ax in enumerate(axes.flat):
        if i >= len(tags):
            ax.set_visible(False)
            continue
        tag = tags[i]
        for run, (steps, values, _wt) in series[tag].items():
            if weight > 0:
                ax.plot(steps, values, color=color[run], alpha=0.25, linewidth=1)
            ax.plot(steps, smooth(values, weight), color=color[run], linewidth=1.5, label=run)
        ax.set_title(tag, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
        if len(series[tag]) > 1 or len(runs) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _num(x: float) -> Any:
    return x if math.isfinite(x) else str(x)


def html_page(series: Series, weight: float, title: str) -> str:
    """One self-contained HTML page: the data as JSON in a ``<script type="application/json"
    id="ferroboard-data">`` (non-finite values as the strings ``nan``, ``inf``, ``-inf``),
    drawn as inline SVG by the script below it."""
    data = {
        "title": title,
        "smoothing": weight,
        "colors": COLORS,
        "tags": [
            {
                "tag": tag,
                "runs": [
                    {
                        "run": run,
                        "steps": [int(s) for s in steps],
                        "values": [_num(float(v)) for v in values],
                        "wall_times": [float(w) for w in wt],
                    }
                    for run, (steps, values, wt) in runs.items()
                ],
            }
            for tag, runs in series.items()
        ],
    }
    blob = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return _TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", blob)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plot",
        help="scalars to PNG, SVG or a self-contained interactive HTML file",
        description="Plot the scalars of LOGDIR, one panel per tag, one line per run, as "
        "TensorBoard shows them (restarts applied, its smoothing). -o FILE.png / .svg "
        "needs matplotlib; -o FILE.html is one file with everything inline (drag to zoom, "
        "double-click to reset, a smoothing slider), no server.",
    )
    p.add_argument("path", help="logdir or event file")
    p.add_argument(
        "-o", "--output", default="plot.html", help="FILE.png, .svg or .html (default: plot.html)"
    )
    p.add_argument("--run", action="append", metavar="GLOB", help="only these runs (repeatable)")
    p.add_argument("--tag", action="append", metavar="GLOB", help="only these tags (repeatable)")
    p.add_argument(
        "--smoothing", type=float, default=0.6, help="TensorBoard's smoothing, 0 to 0.999"
    )
    p.add_argument("--size", metavar="WxH", help="image size in pixels (PNG/SVG)")
    p.set_defaults(func=cmd_plot)


def _parse_size(text: str) -> tuple[int, int]:
    """``--size WxH``: two positive whole numbers of pixels."""
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 1 or h < 1:
        raise ValueError(f"--size: expected WxH in pixels, got {text!r}")
    return w, h


def cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".png", ".svg", ".html", ".htm"):
        raise ValueError(f"-o: expected a .png, .svg or .html file, got {args.output!r}")
    if not 0 <= args.smoothing < 1:
        raise ValueError(f"--smoothing: expected 0 <= w < 1, got {args.smoothing}")
    size = None if args.size is None else _parse_size(args.size)
    series = load_series(args.path, args.run, args.tag)
    if not series:
        out.write(f"ferroboard plot: no scalars in {args.path} match the filters\n")
        return EXIT_USAGE
    if ext in (".html", ".htm"):
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(html_page(series, args.smoothing, os.fspath(args.path)))
    else:
        try:
            plot_image(series, args.output, size or default_size(len(series)), args.smoothing)
        except ImportError as e:
            print(str(e), file=sys.stderr)
            return EXIT_USAGE
    n = sum(len(r) for r in series.values())
    out.write(f"{args.output}: {len(series)} tags, {n} series\n")
    return EXIT_OK


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>__TITLE__ - ferroboard plot</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.panel{border:1px solid #ddd;border-radius:4px;padding:6px}
.panel h3{font-size:13px;margin:0 0 4px;font-weight:600}
svg{width:100%;height:260px;user-select:none;cursor:crosshair}
.legend span{margin-right:10px;white-space:nowrap}
.tip{font:11px monospace;min-height:14px;color:#444}
</style></head><body>
<h2 style="font-size:16px">__TITLE__</h2>
<label>Smoothing <input id="smooth" type="range" min="0" max="0.999" step="0.001">
<span id="smoothv"></span></label>
<span style="color:#777;margin-left:12px">drag to zoom, double-click to reset</span>
<div id="grid"></div>
<script type="application/json" id="ferroboard-data">__DATA__</script>
<script>
(function(){
const D=JSON.parse(document.getElementById('ferroboard-data').textContent);
const num=v=>typeof v==='string'?(v==='nan'?NaN:(v==='inf'?Infinity:-Infinity)):v;
const runs=[...new Set(D.tags.flatMap(t=>t.runs.map(r=>r.run)))].sort();
const color=r=>D.colors[runs.indexOf(r)%D.colors.length];
const NS='http://www.w3.org/2000/svg';
function smooth(ys,w){  // TensorBoard's debiased EMA
  const c=ys.every(v=>v===ys[0]);let last=0,n=0;
  return ys.map(y=>{if(c||w<=0||!isFinite(y))return y;last=last*w+(1-w)*y;n++;
    return w===1?last:last/(1-Math.pow(w,n));});}
function el(tag,attrs,parent){const e=document.createElementNS(NS,tag);
  for(const k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
function fmt(v){const a=Math.abs(v);
  return a!==0&&(a<1e-3||a>=1e5)?v.toExponential(2):+v.toPrecision(4)+'';}
const W=420,H=260,L=52,R=8,T=8,B=22;
const panels=D.tags.map(t=>{
  const div=document.createElement('div');div.className='panel';
  div.innerHTML='<h3></h3><div class="legend"></div><div class="tip"></div>';
  div.querySelector('h3').textContent=t.tag;
  const leg=div.querySelector('.legend');
  t.runs.forEach(r=>{const s=document.createElement('span');s.style.color=color(r.run);
    s.textContent='\u25a0 '+r.run;leg.appendChild(s);});
  const svg=el('svg',{viewBox:`0 0 ${W} ${H}`,preserveAspectRatio:'none'});
  div.insertBefore(svg,div.querySelector('.tip'));
  document.getElementById('grid').appendChild(div);
  const series=t.runs.map(r=>({run:r.run,x:r.steps,y:r.values.map(num)}));
  const fin=a=>a.filter(isFinite);
  const xs=series.flatMap(s=>s.x),ys=fin(series.flatMap(s=>s.y));
  const full=[Math.min(...xs),Math.max(...xs),Math.min(...ys),Math.max(...ys)];
  return {svg,series,full,view:null,tip:div.querySelector('.tip')};});
function draw(p){
  const w=+document.getElementById('smooth').value;
  const [x0,x1,y0,y1]=p.view||p.full;const dx=(x1-x0)||1,dy=(y1-y0)||1;
  const sx=x=>L+(x-x0)/dx*(W-L-R),sy=y=>H-B-(y-y0)/dy*(H-T-B);
  p.sx=sx;p.sy=sy;p.inv=(px,py)=>[x0+(px-L)/(W-L-R)*dx,y0+(H-B-py)/(H-T-B)*dy];
  const svg=p.svg;while(svg.firstChild)svg.removeChild(svg.firstChild);
  el('rect',{x:L,y:T,width:W-L-R,height:H-T-B,fill:'#fff',stroke:'#ccc'},svg);
  for(let i=0;i<=4;i++){const yv=y0+dy*i/4,xv=x0+dx*i/4;
    el('line',{x1:L,x2:W-R,y1:sy(yv),y2:sy(yv),stroke:'#eee'},svg);
    el('text',{x:L-4,y:sy(yv)+4,'text-anchor':'end','font-size':10},svg).textContent=fmt(yv);
    el('text',{x:sx(xv),y:H-6,'text-anchor':'middle','font-size':10},svg).textContent=fmt(Math.round(xv));}
  const clip='c'+Math.random().toString(36).slice(2);
  const cp=el('clipPath',{id:clip},el('defs',{},svg));
  el('rect',{x:L,y:T,width:W-L-R,height:H-T-B},cp);
  const g=el('g',{'clip-path':`url(#${clip})`},svg);
  const path=(x,y)=>{let d='',pen=false;for(let i=0;i<x.length;i++){
    if(!isFinite(y[i])){pen=false;continue;}
    d+=(pen?'L':'M')+sx(x[i]).toFixed(1)+' '+sy(y[i]).toFixed(1);pen=true;}
    return d;};
  p.series.forEach(s=>{
    if(w>0)el('path',{d:path(s.x,s.y),fill:'none',stroke:color(s.run),'stroke-opacity':0.25},g);
    el('path',{d:path(s.x,smooth(s.y,w)),fill:'none',stroke:color(s.run),'stroke-width':1.5},g);});
  p.box=el('rect',{fill:'rgba(0,119,187,0.15)',stroke:'#07b',visibility:'hidden'},svg);}
function pt(p,ev){const r=p.svg.getBoundingClientRect();
  return [(ev.clientX-r.left)/r.width*W,(ev.clientY-r.top)/r.height*H];}
panels.forEach(p=>{
  let start=null;
  p.svg.addEventListener('mousedown',ev=>{start=pt(p,ev);});
  p.svg.addEventListener('mousemove',ev=>{const [px,py]=pt(p,ev);
    if(start){const b=p.box;b.setAttribute('visibility','visible');
      b.setAttribute('x',Math.min(px,start[0]));b.setAttribute('y',Math.min(py,start[1]));
      b.setAttribute('width',Math.abs(px-start[0]));b.setAttribute('height',Math.abs(py-start[1]));return;}
    const [xv]=p.inv(px,py);const w=+document.getElementById('smooth').value;
    p.tip.textContent=p.series.map(s=>{if(!s.x.length)return '';let best=0;
      for(let i=1;i<s.x.length;i++)if(Math.abs(s.x[i]-xv)<Math.abs(s.x[best]-xv))best=i;
      const sm=smooth(s.y,w)[best];
      return `${s.run}: step ${s.x[best]} value ${fmt(s.y[best])}`
        +(w>0?` (smoothed ${fmt(sm)})`:'');}).join('  ');});
  p.svg.addEventListener('mouseup',ev=>{if(!start)return;const end=pt(p,ev);
    if(Math.abs(end[0]-start[0])>4&&Math.abs(end[1]-start[1])>4){
      const a=p.inv(start[0],start[1]),b=p.inv(end[0],end[1]);
      p.view=[Math.min(a[0],b[0]),Math.max(a[0],b[0]),Math.min(a[1],b[1]),Math.max(a[1],b[1])];}
    start=null;draw(p);});
  p.svg.addEventListener('mouseleave',()=>{if(start){start=null;draw(p);}});
  p.svg.addEventListener('dblclick',()=>{p.view=null;draw(p);});});
const sl=document.getElementById('smooth');sl.value=D.smoothing;
const show=()=>{
  document.getElementById('smoothv').textContent=(+sl.value).toFixed(3);panels.forEach(draw);};
sl.addEventListener('input',show);show();
})();
</script></body></html>
"""
