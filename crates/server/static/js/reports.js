// The reports page: the summary and agents reports as SVG charts drawn here, tables and CSV.

import { api, logOut, requireSession } from './api.js';
import { el, say, showIdentity, topicName } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
let last = null;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Seconds as `4.5 min`, `2.1 h`, or a dash. */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function share(value) {
  return value === null || value === undefined ? '–' : `${Math.round(value * 100)}%`;
}

function rating(avg, count) {
  return count ? `${avg.toFixed(1)} (${count})` : '–';
}

function groupName(groupBy, row) {
  if (groupBy === 'type') return topicName(row.key);
  if (groupBy === 'agent') return row.key === 'none' ? 'No agent' : row.name;
  if (groupBy === 'label') return row.key === 'none' ? 'No label' : row.name;
  return row.key;
}

/**
 * A grouped bar chart: `series` = [{name, values, cls}], one bar per series per label. Drawn as
 * SVG with a title per bar (its exact value) and an accessible summary.
 */
function barChart(container, labels, series, format) {
  const width = 640;
  const height = 240;
  const left = 48;
  const bottom = 56;
  const top = 24;
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const plotH = height - bottom - top;
  const groupW = (width - left - 8) / Math.max(1, labels.length);
  const barW = Math.max(2, Math.min(32, (groupW - 8) / series.length));
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'bar-chart',
    'aria-label': series.map((s) => `${s.name}: ` + labels.map((l, i) => `${l} ${format(s.values[i])}`).join(', ')).join('; '),
  });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH * (1 - f);
    chart.append(svg('line', { x1: left, x2: width - 8, y1: y, y2: y, class: 'grid' }));
    chart.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, format(max * f)));
  }
  labels.forEach((label, i) => {
    const x0 = left + i * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const h = (v / max) * plotH;
      const bar = svg('rect', { x: x0 + j * barW, y: top + plotH - h, width: barW - 2, height: Math.max(h, 1), class: `bar ${s.cls}` });
      bar.append(svg('title', {}, `${label}, ${s.name}: ${format(v)}`));
      chart.append(bar);
    });
    const text = label.length > 12 ? label.slice(0, 11) + '…' : label;
    chart.append(svg('text', { x: left + i * groupW + groupW / 2, y: height - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, text));
  });
  const legend = el('ul', { class: 'legend' }, series.map((s) => el('li', {}, el('span', { class: `swatch ${s.cls}`, 'aria-hidden': 'true' }), s.name)));
  container.replaceChildren(chart, legend);
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function range() {
  const from = $('report-from').value;
  const to = $('report-to').value;
  const end = new Date(to + 'T00:00:00Z');
  end.setUTCDate(end.getUTCDate() + 1);
  return { from: from + 'T00:00:00Z', to: end.toISOString() };
}

async function load() {
  const { from, to } = range();
  const groupBy = $('report-group').value;
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  say($('report-status'), 'Loading…');
  try {
    const [summary, agents] = await Promise.all([
      api('GET', `/api/v1/reports/summary?${q}&group_by=${groupBy}`),
      api('GET', `/api/v1/reports/agents?${q}`),
    ]);
    last = { summary, agents, groupBy };
    draw(summary, agents, groupBy);
    say($('report-status'), summary.rows.length ? '' : 'Nothing happened in this range.');
  } catch (err) {
    say($('report-status'), err.message, 'error');
  }
}

function draw(summary, agents, groupBy) {
  const rows = summary.rows;
  const labels = rows.map((r) => groupName(groupBy, r));
  const count = (v) => String(Math.round(v));
  barChart($('chart-volume'), labels, [
    { name: 'Opened', values: rows.map((r) => r.opened), cls: 's1' },
    { name: 'Resolved', values: rows.map((r) => r.resolved), cls: 's2' },
  ], count);
  const minutes = (v) => (v === null ? '–' : `${(v / 60).toFixed(1)}`);
  barChart($('chart-response'), labels, [
    { name: 'Median', values: rows.map((r) => r.first_response_p50_seconds), cls: 's1' },
    { name: '90th percentile', values: rows.map((r) => r.first_response_p90_seconds), cls: 's3' },
  ], minutes);
  barChart($('chart-sla'), labels, [
    { name: 'Met', values: rows.map((r) => (r.sla_met_share === null ? null : r.sla_met_share * 100)), cls: 's2' },
  ], (v) => `${Math.round(v)}`);
  $('summary-table').tBodies[0].replaceChildren(...rows.map((r, i) => el('tr', {},
    el('th', { scope: 'row', text: labels[i] }),
    el('td', { text: r.opened }), el('td', { text: r.resolved }),
    el('td', { text: duration(r.first_response_p50_seconds) }), el('td', { text: duration(r.first_response_p90_seconds) }),
    el('td', { text: duration(r.resolution_p50_seconds) }), el('td', { text: duration(r.resolution_p90_seconds) }),
    el('td', { text: share(r.sla_met_share) }), el('td', { text: rating(r.rating_average, r.rating_count) }))));
  $('agents-table').tBodies[0].replaceChildren(...agents.agents.map((a) => el('tr', {},
    el('th', { scope: 'row', text: a.username || `agent ${a.agent_id}` }),
    el('td', { text: a.held }), el('td', { text: a.resolved }), el('td', { text: a.responses }),
    el('td', { text: duration(a.response_p50_seconds) }), el('td', { text: duration(a.response_p90_seconds) }),
    el('td', { text: rating(a.rating_average, a.rating_count) }))));
}

function csvCell(value) {
  const text = value === null || value === undefined ? '' : String(value);
  // Quote every cell; a leading formula character is neutralised for spreadsheets.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

function exportCsv() {
  if (!last) return;
  const { summary, groupBy } = last;
  const header = ['group', 'opened', 'resolved', 'first_response_p50_seconds', 'first_response_p90_seconds',
    'resolution_p50_seconds', 'resolution_p90_seconds', 'sla_measured', 'sla_met_share', 'rating_average', 'rating_count'];
  const lines = [header.map(csvCell).join(',')].concat(summary.rows.map((r) => [groupName(groupBy, r),
    r.opened, r.resolved, r.first_response_p50_seconds, r.first_response_p90_seconds, r.resolution_p50_seconds,
    r.resolution_p90_seconds, r.sla_measured, r.sla_met_share, r.rating_average, r.rating_count].map(csvCell).join(',')));
  const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' });
  const link = el('a', { href: URL.createObjectURL(blob), download: `report-${groupBy}-${$('report-from').value}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function start() {
  const current = requireSession(['agent', 'admin']);
  if (!current) return;
  showIdentity($('identity'), current.user, logOut);
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400000);
  $('report-from').value = isoDay(weekAgo);
  $('report-to').value = isoDay(today);
  $('report-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  $('report-csv').addEventListener('click', exportCsv);
  load();
}

start();
