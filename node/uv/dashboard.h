// The dashboard every node serves at GET /: one self-contained page (no CDN, no files)
// that polls /status every second and draws the ring (ownership by node), the members
// with their status, this node's phi for each and whether the data it shares with each
// is known equal (the convergence signal), hints and transfers, and ops/s and mean
// latency at this node over the last five minutes.
#pragma once

#include <string_view>

namespace shoal::uvshell {

inline constexpr std::string_view kDashboardHtml = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoal</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2733;background:#f7f9fb}
h1{font-size:20px;margin:0 0 4px} .sub{color:#5b6b7b;margin-bottom:16px}
.grid{display:grid;grid-template-columns:320px 1fr;gap:20px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:14px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef1f4}
th{color:#5b6b7b;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#137333;font-weight:600} .down{color:#c5221f;font-weight:700} .self{color:#1a73e8;font-weight:600}
.gone{color:#80868b} .sync{color:#137333} .nosync{color:#b06000} .stats span{display:inline-block;margin-right:18px}
svg{display:block} svg text{font-size:11px;fill:#5b6b7b} .err{color:#c5221f}
</style></head><body>
<h1>Shoal <span id="node"></span></h1>
<div class="sub" id="sub">loading…</div>
<div class="grid">
 <div class="card"><b>Ring</b> (share of the hash space each node replicates)
  <svg id="ring" width="290" height="290" viewBox="-145 -145 290 290"></svg>
  <div id="legend"></div></div>
 <div class="card"><b>Members</b> (up/down and phi as this node sees them)
  <table><thead><tr><th>node</th><th>status</th><th>seen</th><th>phi</th><th>owns</th>
  <th>hints</th><th>hints for it</th><th>handoff</th><th>sync</th><th>client</th></tr></thead>
  <tbody id="members"></tbody></table>
  <p class="stats" id="stats"></p></div>
 <div class="card"><b>ops/s at this node</b> (last 5 minutes)<svg id="ops" width="290" height="120"></svg></div>
 <div class="card"><b>mean latency, ms</b> (last 5 minutes)<svg id="lat" width="600" height="120"></svg></div>
</div>
<script>
"use strict";
const colors=["#1a73e8","#e8710a","#188038","#d93025","#9334e6","#12b5cb","#f9ab00","#5f6368"];
const hist=[];let last=null;
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));}
function ring(members){
  const live=members.filter(m=>m.ownership>0);const total=live.reduce((a,m)=>a+m.ownership,0)||1;
  let a0=-Math.PI/2,svg="",legend="";
  live.forEach((m,i)=>{const frac=m.ownership/total,a1=a0+frac*2*Math.PI,c=colors[i%colors.length];
    if(live.length===1){svg+=`<circle r="120" fill="${c}"/>`;}else{
    const large=frac>0.5?1:0,x0=120*Math.cos(a0),y0=120*Math.sin(a0),x1=120*Math.cos(a1),y1=120*Math.sin(a1);
    svg+=`<path d="M0 0 L${x0} ${y0} A120 120 0 ${large} 1 ${x1} ${y1} Z" fill="${c}" opacity="${m.down?0.35:1}"/>`;}
    legend+=`<span style="color:${c}">&#9632;</span> ${esc(m.id)} ${(m.ownership*100).toFixed(1)}% &nbsp;`;a0=a1;});
  svg+=`<circle r="60" fill="#fff"/>`;
  document.getElementById("ring").innerHTML=svg;document.getElementById("legend").innerHTML=legend;
}
function chart(id,values,w){
  const h=110,max=Math.max(1e-9,...values),n=values.length;
  const pts=values.map((v,i)=>`${(w*(i+300-n)/300).toFixed(1)},${(h-h*v/max).toFixed(1)}`).join(" ");
  document.getElementById(id).innerHTML=`<polyline fill="none" stroke="#1a73e8" stroke-width="1.5" points="${pts}"/>`+
    `<text x="2" y="11">max ${max.toFixed(max<10?2:0)}</text>`;
}
function ago(ms){const s=Math.max(0,Math.round((Date.now()-ms)/1000));
  return s<120?s+"s":s<7200?Math.round(s/60)+"m":Math.round(s/3600)+"h";}
function sync(m){
  if(!m.sync)return '<td data-sync="-"><span class="gone">-</span></td>';
  if(m.sync.in_sync)return `<td data-sync="yes"><span class="sync">&#10003; yes</span>${m.sync.since_ms?" since "+ago(m.sync.since_ms):""}</td>`;
  const why=m.down?"down":m.hints_here>0?`${m.hints_here} hints for it`:
    m.sync.unconfirmed>0?`${m.sync.unconfirmed} segments unconfirmed`:"handoff pending";
  return `<td data-sync="no"><span class="nosync">no</span> (${why})</td>`;
}
function render(s){
  document.getElementById("node").textContent="— node "+s.node;
  document.getElementById("sub").textContent=`ring of ${s.ring.size} nodes · fingerprint ${s.ring.fingerprint} · `+
    (s.in_sync?"in sync with every ring peer · ":"not in sync yet · ")+
    `${s.pending_requests} requests in flight · ${s.client_connections} client connections`;
  document.getElementById("members").innerHTML=s.members.map(m=>{
    const gone=m.status==="left"||m.status==="removed";
    const seen=m.self?'<span class="self">self</span>':gone?'<span class="gone">-</span>':m.down?'<span class="down">DOWN</span>':'<span class="up">up</span>';
    return `<tr data-node="${esc(m.id)}" data-seen="${m.self?"self":gone?"gone":m.down?"down":"up"}"><td>${esc(m.id)}</td><td>${esc(m.status)}</td><td>${seen}</td>`+
      `<td class="num">${m.phi.toFixed(2)}</td><td class="num">${(m.ownership*100).toFixed(1)}%</td>`+
      `<td class="num">${m.hints}</td><td class="num">${m.hints_here}</td><td class="num">${m.handoff_keys}</td>${sync(m)}<td>${esc(m.client)}</td></tr>`;}).join("");
  document.getElementById("stats").innerHTML=`<span>hints held <b>${s.hints.held}</b>, replayed <b>${s.hints.replayed}</b></span>`+
    `<span>handoff <b>${s.handoff.active?"running":"idle"}</b>: ${s.handoff.not_owned} not owned, ${s.handoff.sent} sent, ${s.handoff.dropped} dropped, ${s.handoff.inflight} in flight</span>`+
    `<span>anti-entropy ${s.anti_entropy.exchanges} exchanges, ${s.anti_entropy.keys_repaired} keys repaired</span>`;
  ring(s.members);
  const now=Date.now();
  if(last){const dt=(now-last.t)/1000,dr=s.traffic.requests-last.r,ds=s.traffic.seconds-last.s;
    hist.push({ops:dr/dt,lat:dr>0?1000*ds/dr:0});if(hist.length>300)hist.shift();}
  last={t:now,r:s.traffic.requests,s:s.traffic.seconds};
  chart("ops",hist.map(p=>p.ops),290);chart("lat",hist.map(p=>p.lat),600);
}
async function tick(){
  try{const r=await fetch("/status",{cache:"no-store"});render(await r.json());}
  catch(e){document.getElementById("sub").innerHTML=`<span class="err">node not answering: ${esc(e)}</span>`;}
  setTimeout(tick,1000);
}
tick();
</script></body></html>
)html";

}  // namespace shoal::uvshell
