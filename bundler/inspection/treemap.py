"""`bundle audit --html`: one self-contained page with a squarified treemap of every zip.

No network requests: the CSS and JavaScript are inline and the data is embedded as JSON.
Files are grouped into their folders, and small ones aggregated, so that the page stays
light for numpy- or boto3-size zips: at most `MAX_RECTANGLES` leaves in all.
"""

from __future__ import annotations

import heapq
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.errors import display_path
from bundler.inspection.audit import FunctionAudit, Member, SiteAudit, Weight
from bundler.pack.limits import UNZIPPED_LIMIT, ZIPPED_LIMIT, human_size

MAX_RECTANGLES = 2400
MIN_PER_FUNCTION = 40
MAX_CHILDREN = 24  # children shown per folder at least; the rest make one "N smaller" box
MIN_SHARE = 0.004  # folders under this share of the zip are never opened
MIN_VISIBLE = 0.001  # past MAX_CHILDREN, children at least this share still get a box


@dataclass
class _Node:
    """A folder or file of the tree being built (mutable only while it is built)."""

    name: str
    path: str
    size: int = 0
    children: dict[str, _Node] = field(default_factory=dict)

    def add(self, parts: list[str], size: int) -> None:
        self.size += size
        if parts:
            path = f"{self.path}/{parts[0]}" if self.path else parts[0]
            child = self.children.setdefault(parts[0], _Node(parts[0], path))
            child.add(parts[1:], size)


def function_tree(function: FunctionAudit, budget: int) -> list[dict[str, Any]]:
    """One node per owner (distribution or first-party), opened biggest folder first.

    A node is `{"n": label, "p": path, "v": bytes, "c": children}`; owners add `"d"`.
    """
    owners: dict[str, _Node] = {}
    for member in function.members:
        owner = owners.setdefault(member.owner, _Node(member.owner, ""))
        owner.add(member.name.split("/"), member.size)
    total = function.unzipped or 1
    visible = total * MIN_VISIBLE
    shown: dict[int, list[_Node]] = {}
    leaves = len(owners)
    queue = [(-node.size, key, node) for key, node in sorted(owners.items())]
    heapq.heapify(queue)
    while queue:
        _, key, node = heapq.heappop(queue)
        node = _collapse(node)
        if not node.children or node.size < total * MIN_SHARE:
            continue
        children = sorted(node.children.values(), key=lambda n: (-n.size, n.name))
        room = budget - leaves + 1  # leaves this node may become
        wanted = sum(1 for i, c in enumerate(children) if i < MAX_CHILDREN or c.size >= visible)
        # all of them when they fit, else one box less and a box for the rest
        count = wanted if wanted == len(children) <= room else min(wanted, room - 1)
        if count < 1:
            continue
        kept, rest = children[:count], children[count:]
        if rest:
            other = _Node(f"{len(rest)} smaller", f"{node.path}/…" if node.path else "…")
            other.size = sum(n.size for n in rest)
            kept.append(other)
        shown[id(node)] = kept
        leaves += len(kept) - 1
        for child in kept:
            if child.children:
                heapq.heappush(queue, (-child.size, f"{key}/{child.path}", child))
    return [
        {**_emit(_collapse(node), shown), "n": name or "first-party code", "d": name}
        for name, node in sorted(owners.items(), key=lambda item: (-item[1].size, item[0]))
    ]


def _collapse(node: _Node) -> _Node:
    """A folder holding one folder is shown as one box: `a/b` (owners stay as they are)."""
    while node.path and len(node.children) == 1:
        (child,) = node.children.values()
        if not child.children:
            break
        node.children = child.children
        node.name = f"{node.name}/{child.name}" if node.name else child.name
        node.path = child.path
    return node


def _emit(node: _Node, shown: dict[int, list[_Node]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": node.name, "p": node.path, "v": node.size}
    if id(node) in shown:
        out["c"] = [_emit(_collapse(child), shown) for child in shown[id(node)]]
    return out


def page_data(audit: SiteAudit, root: Path) -> dict[str, Any]:
    """What the page's script draws."""
    budget = max(MIN_PER_FUNCTION, MAX_RECTANGLES // max(len(audit.functions), 1))
    versions: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for function in audit.functions:
        for d in function.distributions:
            versions.setdefault(d.name, d.version)
            sizes[d.name] = max(sizes.get(d.name, 0), d.weight.size)
    return {
        "out": display_path(audit.out, root),
        "bundlerVersion": __version__,
        "limits": {"zipped": ZIPPED_LIMIT, "unzipped": UNZIPPED_LIMIT},
        "total": len(audit.names),
        "functions": [
            {
                "name": f.name,
                "zip": f.path.name,
                "files": len(f.members),
                "zipped": f.zipped,
                "unzipped": f.unzipped,
                "owners": [_owner(f, d.name, d.weight) for d in f.distributions]
                + [_owner(f, "", Weight.of(f.first_party))],
                "largest": [_member(m) for m in f.largest[:5]],
                "savings": [
                    {"title": s.title, "bytes": s.weight.size, "action": s.action}
                    for s in f.savings
                ],
                "tree": function_tree(f, budget),
            }
            for f in audit.functions
        ],
        "distributions": [
            {
                "name": name,
                "version": versions.get(name, ""),
                "bytes": sizes.get(name, 0),
                "functions": list(names),
            }
            for name, names in sorted(audit.shipped_by.items(), key=lambda i: -sizes.get(i[0], 0))
            if name in sizes
        ],
        "problems": [p.format(root) for p in audit.problems],
    }


def _owner(function: FunctionAudit, name: str, weight: Weight) -> dict[str, Any]:
    return {"d": name, "bytes": weight.size, "zipped": weight.zipped, "files": weight.files}


def _member(member: Member) -> dict[str, Any]:
    return {"name": member.name, "owner": member.owner, "bytes": member.size}


def audit_page(audit: SiteAudit, root: Path) -> str:
    """The whole page: HTML, inline CSS and JS, the data as embedded JSON."""
    data = json.dumps(page_data(audit, root), separators=(",", ":"), sort_keys=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    biggest = max(audit.functions, key=lambda f: f.zipped, default=None)
    subtitle = (
        f"{len(audit.functions)} functions in {display_path(audit.out, root)}; largest: "
        f"{biggest.name}, {human_size(biggest.zipped)} zipped, "
        f"{human_size(biggest.unzipped)} unzipped"
        if biggest
        else "no functions"
    )
    return (
        _PAGE.replace("@TITLE@", html.escape(f"Bundle audit: {display_path(audit.out, root)}"))
        .replace("@SUBTITLE@", html.escape(subtitle))
        .replace("@CSS@", _CSS)
        .replace("@SCRIPT@", _SCRIPT)
        .replace("@DATA@", data)
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>@CSS@</style>
</head>
<body>
<header><h1>@TITLE@</h1><p class="sub">@SUBTITLE@</p></header>
<main id="app"></main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="audit-data">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
"""

_CSS = """
:root{--bg:#f6f7f9;--card:#fff;--ink:#1b1f24;--mute:#5b6470;--line:#e3e6ea;--track:#eceff3;
--ok:#2f9e5b;--warn:#d9931a;--bad:#d64545;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#14171b;--card:#1d2126;--ink:#e8eaed;
--mute:#9aa3ad;--line:#2e343b;--track:#2a2f35}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main{max-width:1320px;margin:0 auto;padding:0 24px}
header{padding-top:28px}h1{font-size:22px;margin:0 0 4px;font-weight:650}
.sub{color:var(--mute);margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card h2{font-size:17px;margin:0;font-weight:650}.card h2 small{color:var(--mute);font-weight:400;
font-size:13px;margin-left:8px}
.gauges{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:8px 28px;
margin:12px 0}
.gauge .label{display:flex;justify-content:space-between;font-size:12.5px;color:var(--mute)}
.gauge .label b{color:var(--ink);font-weight:600}
.track{position:relative;height:12px;background:var(--track);border-radius:6px;overflow:hidden;
margin-top:3px;display:flex}.track span{height:100%}
.track i{position:absolute;left:80%;top:0;bottom:0;border-left:2px dashed var(--warn);opacity:.7}
.hot .label b{color:var(--bad)}
svg.map{display:block;width:100%;border-radius:6px}
svg.map rect{stroke:var(--card);stroke-width:1}svg.map text{pointer-events:none;font-size:11px}
svg.map .head{fill:#fff;font-weight:600}svg.map .leaf{fill:#111}
body.focus svg.map g.owner:not(.on){opacity:.18}body.focus tr.dist:not(.on){opacity:.45}
.notes{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:4px 28px;
margin-top:12px;font-size:12.5px}.notes h3{font-size:12px;text-transform:uppercase;
letter-spacing:.04em;color:var(--mute);margin:6px 0 4px}
.notes ol{margin:0;padding-left:18px}.notes code{font-size:12px;background:var(--track);
padding:1px 5px;border-radius:4px;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:var(--mute);font-weight:500;border-bottom:1px solid var(--line);
padding:6px 8px}td{padding:5px 8px;border-bottom:1px solid var(--line)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:8px;
vertical-align:-1px}.chip{display:inline-block;background:var(--track);border-radius:10px;
padding:0 8px;margin:1px 3px 1px 0;font-size:12px}
.problems{border-color:var(--bad)}.problems li{color:var(--bad)}
#tip{position:fixed;z-index:9;pointer-events:none;background:#111c;color:#fff;padding:7px 10px;
border-radius:6px;font-size:12.5px;max-width:460px;backdrop-filter:blur(4px);
box-shadow:0 4px 14px rgba(0,0,0,.25)}#tip b{display:block;word-break:break-all}
footer{color:var(--mute);font-size:12px;text-align:center;padding:8px 0 28px}
"""

_SCRIPT = r"""
window.onerror=function(m,s,l){document.body.dataset.error=m+" at line "+l;};
(function(){
const D=JSON.parse(document.getElementById("audit-data").textContent);
const app=document.getElementById("app"),tip=document.getElementById("tip");
const SVG="http://www.w3.org/2000/svg";
function human(b){if(b<1024)return b+" B";let v=b/1024;if(v<1023.95)return v.toFixed(1)+" KiB";
return (v/1024).toFixed(1)+" MiB";}
function pct(x){if(x>0&&x<0.00005)return "<0.01%";return (x*100).toFixed(x<0.1?2:1)+"%";}
function el(tag,attrs,text){const e=document.createElement(tag);
for(const k in attrs||{})e.setAttribute(k,attrs[k]);if(text!=null)e.textContent=text;return e;}
const hues={};D.distributions.forEach((d,i)=>{hues[d.name]=(i*137.508+200)%360;});
function colour(d,depth){if(!d)return "hsl(215,14%,"+(40+depth*9)+"%)";
const h=hues[d]??0;return "hsl("+h.toFixed(0)+",58%,"+Math.min(40+depth*11,80)+"%)";}
function worst(row,sum,side){let r=0;for(const a of row){const s2=side*side,q=sum*sum;
r=Math.max(r,s2*a/q,q/(s2*a));}return r;}
function squarify(items,x,y,w,h){const out=[];const total=items.reduce((s,i)=>s+i.v,0);
if(total<=0||w<=0||h<=0)return out;const k=w*h/total;let rest=items.filter(i=>i.v>0);
while(rest.length){const side=Math.min(w,h);let row=[rest[0].v*k],sum=row[0],n=1;
let best=worst(row,sum,side);while(n<rest.length){const a=rest[n].v*k;
const r=worst(row.concat([a]),sum+a,side);if(r>best)break;row.push(a);sum+=a;best=r;n++;}
const thick=sum/side;let off=0;for(let i=0;i<n;i++){const len=row[i]/thick;
if(w>=h)out.push({node:rest[i],x:x,y:y+off,w:thick,h:len});
else out.push({node:rest[i],x:x+off,y:y,w:len,h:thick});off+=len;}
if(w>=h){x+=thick;w-=thick;}else{y+=thick;h-=thick;}rest=rest.slice(n);}return out;}
function label(g,text,x,y,w,cls){const fit=Math.floor((w-8)/6.6);if(fit<3)return;
const t=document.createElementNS(SVG,"text");t.setAttribute("x",x+4);t.setAttribute("y",y);
t.setAttribute("class",cls);t.textContent=text.length>fit?text.slice(0,fit-1)+"…":text;
g.appendChild(t);}
function draw(g,node,owner,x,y,w,h,depth,fn){
const r=document.createElementNS(SVG,"rect");r.setAttribute("x",x);r.setAttribute("y",y);
r.setAttribute("width",Math.max(w,0));r.setAttribute("height",Math.max(h,0));
r.setAttribute("fill",colour(owner,depth));r.dataset.tip=JSON.stringify([(owner||
"first-party code")+(node.p?": "+node.p:""),node.v,fn.unzipped,"of the function"]);
if(depth===0)r.setAttribute("data-dist",owner||"(first-party)");
g.appendChild(r);const kids=node.c||[];const head=kids.length&&h>34&&w>40?16:0;
if(kids.length&&w>12&&h>12){label(g,(depth?node.n+"/":node.n)+"  "+human(node.v),x,y+12,w,
depth?"leaf":"head");const pad=2;for(const b of squarify(kids,x+pad,y+head+pad,w-2*pad,
h-head-2*pad))draw(g,b.node,owner,b.x,b.y,b.w,b.h,depth+1,fn);}
else if(h>15){label(g,node.n,x,y+13,w,depth?"leaf":"head");
if(h>30)label(g,human(node.v),x,y+27,w,depth?"leaf":"head");}}
function treemap(card,fn,biggest){const box=card.querySelector(".mapbox");box.textContent="";
const W=Math.max(box.clientWidth,320);
const H=Math.round(Math.max(110,Math.min(460,460*Math.sqrt(fn.unzipped/biggest))));
const svg=document.createElementNS(SVG,"svg");svg.setAttribute("class","map");
svg.setAttribute("viewBox","0 0 "+W+" "+H);svg.setAttribute("height",H);
for(const b of squarify(fn.tree,0,0,W,H)){const g=document.createElementNS(SVG,"g");
g.setAttribute("class","owner");g.dataset.owner=b.node.d;svg.appendChild(g);
draw(g,b.node,b.node.d,b.x,b.y,b.w,b.h,0,fn);}box.appendChild(svg);}
function gauge(fn,what){const limit=D.limits[what],size=fn[what],share=size/limit;
const g=el("div",{class:"gauge"+(share>=0.8?" hot":"")});const l=el("div",{class:"label"});
l.appendChild(el("span",{},what+": "));const b=el("b",{},human(size)+" of "+human(limit)+
" ("+pct(share)+")");l.appendChild(b);g.appendChild(l);const t=el("div",{class:"track",
title:"80% line: the build warns past it"});for(const o of fn.owners){
const w=(what==="zipped"?o.zipped:o.bytes)/limit*100;if(w<=0)continue;
const s=el("span");s.style.width=w+"%";s.style.background=colour(o.d,0);
s.dataset.tip=JSON.stringify([(o.d||"first-party code")+", "+what,what==="zipped"?
o.zipped:o.bytes,limit,"of the "+human(limit)+" limit"]);t.appendChild(s);}t.appendChild(el("i"));
g.appendChild(t);return g;}
function notes(fn){const n=el("div",{class:"notes"});const a=el("div");
a.appendChild(el("h3",{},"largest files"));const ol=el("ol");for(const m of fn.largest){
ol.appendChild(el("li",{},m.name+" — "+human(m.bytes)+(m.owner?" ("+m.owner+")":"")));}
a.appendChild(ol);n.appendChild(a);const s=el("div");s.appendChild(el("h3",{},"savings"));
if(!fn.savings.length)s.appendChild(el("div",{},"nothing obvious to save"));
for(const v of fn.savings){const d=el("div",{},human(v.bytes)+": "+v.title+" ");
if(v.action)d.appendChild(el("code",{},v.action));s.appendChild(d);}n.appendChild(s);return n;}
function focus(name,on){document.body.classList.toggle("focus",on);
document.querySelectorAll('[data-owner],[data-row]').forEach(e=>{e.classList.toggle("on",
on&&(e.dataset.owner??e.dataset.row)===name);});}
if(D.problems.length){const c=el("section",{class:"card problems"});
c.appendChild(el("h2",{},"Problems"));const ul=el("ul");
for(const p of D.problems)ul.appendChild(el("li",{},p));c.appendChild(ul);app.appendChild(c);}
const biggest=Math.max(1,...D.functions.map(f=>f.unzipped));const cards=[];
for(const fn of D.functions){const c=el("section",{class:"card fn","data-function":fn.name});
const h=el("h2",{},fn.name);h.appendChild(el("small",{},fn.zip+" · "+fn.files+" files · "+
(fn.owners.length-1)+" distributions"));c.appendChild(h);const gs=el("div",{class:"gauges"});
gs.appendChild(gauge(fn,"zipped"));gs.appendChild(gauge(fn,"unzipped"));c.appendChild(gs);
c.appendChild(el("div",{class:"mapbox"}));c.appendChild(notes(fn));app.appendChild(c);
cards.push([c,fn]);}
const dc=el("section",{class:"card"});dc.appendChild(el("h2",{},"Distributions"));
const tb=el("table");const hr=el("tr");for(const t of ["distribution","version","unzipped",
"shipped by"])hr.appendChild(el("th",{},t));tb.appendChild(hr);
for(const d of D.distributions){const tr=el("tr",{class:"dist","data-row":d.name});
const td=el("td");const sw=el("span",{class:"sw"});sw.style.background=colour(d.name,0);
td.appendChild(sw);td.appendChild(document.createTextNode(d.name));tr.appendChild(td);
tr.appendChild(el("td",{},d.version));tr.appendChild(el("td",{class:"n"},human(d.bytes)));
const f=el("td");f.appendChild(el("b",{},d.functions.length+" of "+D.total+"  "));
for(const n of d.functions)f.appendChild(el("span",{class:"chip"},n));tr.appendChild(f);
tr.addEventListener("mouseenter",()=>focus(d.name,true));
tr.addEventListener("mouseleave",()=>focus(d.name,false));tb.appendChild(tr);}
dc.appendChild(tb);app.appendChild(dc);
app.appendChild(el("footer",{},"bundler "+D.bundlerVersion+" · sizes read from the zips"));
function render(){for(const [c,fn] of cards)treemap(c,fn,biggest);}render();
let timer=0;
window.addEventListener("resize",()=>{clearTimeout(timer);timer=setTimeout(render,120);});
document.addEventListener("mousemove",e=>{const t=e.target.dataset&&e.target.dataset.tip;
if(!t){tip.hidden=true;return;}const [title,v,of,what]=JSON.parse(t);tip.textContent="";
tip.appendChild(el("b",{},title));tip.appendChild(document.createTextNode(human(v)+" ("+
v.toLocaleString("en")+" B), "+pct(v/of)+" "+what));
tip.hidden=false;const x=Math.min(e.clientX+14,innerWidth-tip.offsetWidth-8);
const y=e.clientY+16+tip.offsetHeight>innerHeight?e.clientY-tip.offsetHeight-10:e.clientY+16;
tip.style.left=x+"px";tip.style.top=y+"px";});
document.body.dataset.ready="1";
})();
"""
