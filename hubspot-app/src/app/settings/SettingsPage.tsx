// Settings page of Holded ⇄ HubSpot (HubSpot app settings, platform 2026.03): loads the portal's
// settings from our backend and shows the form.
import { useEffect, useState } from 'react';
import { EmptyState, LoadingSpinner, Text, hubspot, useExtensionContext } from '@hubspot/ui-extensions';
import type { FetchLike } from '@holded-hubspot/ui-common/backend';
import { LOADING, type Loading, NO_API_ORIGIN, loadInto } from '@holded-hubspot/ui-common/load';
import { SettingsForm } from './SettingsForm.tsx';
import { type Settings, loadSettings } from './settingsApi.ts';

hubspot.extend<'settings'>(() => <SettingsPage />);

const hubspotFetch: FetchLike = (url, options) => hubspot.fetch(url, options);

const LoadFailed = ({ message }: { message: string }) => (
  <EmptyState title="No se pudo cargar la configuración" layout="vertical">
    <Text>{message}</Text>
  </EmptyState>
);

/** The page: the backend comes from the app's profile; hubspot.fetch tells it the portal and the user. */
export const SettingsPage = () => {
  const context = useExtensionContext<'settings'>();
  const apiOrigin = String(context.variables?.API_ORIGIN ?? '');
  return apiOrigin ? <SettingsLoader apiOrigin={apiOrigin} /> : <LoadFailed message={NO_API_ORIGIN} />;
};

/** Loads the settings, then shows the form. */
const SettingsLoader = ({ apiOrigin }: { apiOrigin: string }) => {
  const [loading, setLoading] = useState<Loading<Settings>>(LOADING);
  useEffect(
    () => loadInto(() => loadSettings(hubspotFetch, apiOrigin), setLoading, 'No se pudo cargar la configuración.'),
    [apiOrigin],
  );
  if (loading.status === 'failed') {
    return <LoadFailed message={loading.message} />;
  }
  if (loading.status === 'loading') {
    return <LoadingSpinner label="Cargando la configuración…" layout="centered" />;
  }
  return <SettingsForm fetch={hubspotFetch} apiOrigin={apiOrigin} loaded={loading.value} />;
};
