// The backend's deal card API, as the card uses it (through hubspot.fetch, which signs each request):
// GET/PUT /api/deals/{dealId}?portalId=… and POST /api/deals/{dealId}/documents?portalId=….
import { BackendError, type FetchLike, TIMEOUT_MS, messageOf, unwrapErrorBody } from '../common/backendFetch.ts';
import type { DocumentType } from '../common/documentTypes.ts';

export type AssociateTo = 'company' | 'contact';

/** One document type's request on the deal. */
export interface DocumentState {
  documentType: DocumentType;
  label: string;
  state: 'none' | 'pending' | 'created' | 'failed';
  number: string | null;
  link: string | null;
  error: string | null;
  retryAt: string | null;
  updatedAt: string | null;
}

/** GET /api/deals/{dealId} */
export interface DealView {
  dealId: string;
  dealName: string;
  documentType: DocumentType | null;
  associateTo: AssociateTo | null;
  holdedConfigured: boolean;
  triggerStage: { pipelineId: string; stageId: string; label: string } | null;
  inTriggerStage: boolean;
  documents: DocumentState[];
}

/** PUT /api/deals/{dealId}: an empty string clears a choice. */
export interface DealChoices {
  documentType: DocumentType | '';
  associateTo: AssociateTo | '';
}

function dealUrl(apiOrigin: string, portalId: number, dealId: string, rest = ''): string {
  return `${apiOrigin}/api/deals/${encodeURIComponent(dealId)}${rest}?portalId=${encodeURIComponent(String(portalId))}`;
}

async function call(
  fetch: FetchLike,
  url: string,
  options: Parameters<FetchLike>[1],
  fallback: string,
): Promise<DealView> {
  const res = await fetch(url, { ...options, timeout: TIMEOUT_MS });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new BackendError(messageOf(unwrapErrorBody(body), fallback));
  }
  return body as DealView;
}

/** The deal's view. */
export function loadDeal(fetch: FetchLike, apiOrigin: string, portalId: number, dealId: string): Promise<DealView> {
  return call(fetch, dealUrl(apiOrigin, portalId, dealId), { method: 'GET' }, 'No se pudo cargar el negocio.');
}

/** Saves the choices on the deal; resolves to the new view. */
export function saveChoices(
  fetch: FetchLike,
  apiOrigin: string,
  portalId: number,
  dealId: string,
  choices: DealChoices,
): Promise<DealView> {
  return call(
    fetch,
    dealUrl(apiOrigin, portalId, dealId),
    { method: 'PUT', body: { ...choices } },
    'No se pudieron guardar los cambios.',
  );
}

/** "Crear ahora" / "Reintentar": queues the document of the deal's type. */
export function createDocument(fetch: FetchLike, apiOrigin: string, portalId: number, dealId: string): Promise<DealView> {
  return call(
    fetch,
    dealUrl(apiOrigin, portalId, dealId, '/documents'),
    { method: 'POST', body: {} },
    'No se pudo pedir el documento.',
  );
}
