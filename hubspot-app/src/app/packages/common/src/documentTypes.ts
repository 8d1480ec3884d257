// Holded document types, as the backend names them (v1 names) and users read them.

/** Holded document types, with the Spanish names shown to users. */
export const DOCUMENT_TYPES = [
  { value: 'estimate', label: 'Presupuesto' },
  { value: 'proform', label: 'Proforma' },
  { value: 'waybill', label: 'Albarán' },
  { value: 'invoice', label: 'Factura' },
  { value: 'salesorder', label: 'Pedido' },
] as const;

export type DocumentType = (typeof DOCUMENT_TYPES)[number]['value'];
