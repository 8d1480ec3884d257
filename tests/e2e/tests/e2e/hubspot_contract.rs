//! HubSpot client against the HubSpot simulator.
