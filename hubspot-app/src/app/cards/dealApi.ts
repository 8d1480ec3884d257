// The backend's deal card API, as the card uses it: GET and PUT /api/deals/{dealId}, and
// POST /api/deals/{dealId}/documents. hubspot.fetch adds the caller's portal and user to the URL.
import {
  type BackendRequest,
  type FetchLike,
  acceptedBody,
  backendUrl,
  callBackend,
} from '@holded-hubspot/ui-common/backend';
import type { DocumentType } from '@holded-hubspot/ui-common/documentTypes';

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
  /** The created document's status and payments in Holded, once the sync has seen it. */
  collection: {
    /** `borrador`, `emitida`, `cobrada_parcialmente`, `cobrada`, `vencida`, `anulada`. */
    status: string;
    statusLabel: string;
    /** «500,00 €». */
    paid: string;
    pending: string;
  } | null;
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

async function dealCall(fetch: FetchLike, url: string, request: BackendRequest, fallback: string): Promise<DealView> {
  return acceptedBody<DealView>(await callBackend(fetch, url, request), fallback);
}

/** The deal's view. */
export function loadDeal(fetch: FetchLike, apiOrigin: string, dealId: string): Promise<DealView> {
  return dealCall(fetch, backendUrl(apiOrigin, 'deals', dealId), { method: 'GET' }, 'No se pudo cargar el negocio.');
}

/** Saves the choices on the deal; resolves to the new view. */
export function saveChoices(fetch: FetchLike, apiOrigin: string, dealId: string, choices: DealChoices): Promise<DealView> {
  return dealCall(
    fetch,
    backendUrl(apiOrigin, 'deals', dealId),
    { method: 'PUT', body: { ...choices } },
    'No se pudieron guardar los cambios.',
  );
}

/** "Crear ahora" / "Reintentar": queues the document of the deal's type. */
export function createDocument(fetch: FetchLike, apiOrigin: string, dealId: string): Promise<DealView> {
  return dealCall(
    fetch,
    backendUrl(apiOrigin, 'deals', dealId, 'documents'),
    { method: 'POST', body: {} },
    'No se pudo pedir el documento.',
  );
}
