// Which optional parts of the API this server has, read from its OpenAPI document (the contract),
// so the console offers routing features only where the server serves them and keeps working
// (pull queue, claims) where it does not. Each call still treats a 404 as "not here".

import { api } from './api.js';

/** Every feature off: what an older server (or an unreadable document) gets. */
const NONE = { assignee: false, availability: false, agents: false, transfer: false, notes: false };

/** `{assignee, availability, agents, transfer, notes}`: booleans. Never rejects. */
export async function detectFeatures() {
  let doc;
  try {
    doc = await api('GET', '/api/v1/openapi.json', undefined, { auth: false });
  } catch {
    return { ...NONE };
  }
  const paths = (doc && doc.paths) || {};
  const listParams = (paths['/api/v1/threads'] && paths['/api/v1/threads'].get && paths['/api/v1/threads'].get.parameters) || [];
  return {
    assignee: listParams.some((p) => p && p.name === 'assignee'),
    availability: Boolean(paths['/api/v1/users/me/availability']),
    agents: Boolean(paths['/api/v1/agents']),
    transfer: Boolean(paths['/api/v1/threads/{id}/transfer']),
    notes: Boolean(paths['/api/v1/threads/{id}/notes']),
  };
}

/** Whether a failure says the route does not exist on this server (an older build). */
export function isMissingRoute(failure) {
  return Boolean(failure) && (failure.status === 404 && failure.code === 'route_not_found');
}
