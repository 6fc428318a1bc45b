
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
