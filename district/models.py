from django.contrib.gis.db import models


class ProviderReach(models.Model):
    """A piece of where a provider can reach at one distance (`reach_m`), precomputed for the
    coverage of the 15-minute circle (district/coverage.py).

    The pieces of one provider and distance are ST_Subdivide of the intersection of a circle
    around its base, a little wider than `reach_m`, with its approved area (the service area,
    or a circle of `service_radius_m` around the base when it has none), in geometry: small
    polygons whose GiST index answers "whose pieces hold this home" in one probe. They are a
    filter only, a superset of the homes reached; coverage then checks the distances exactly
    on the geography. `fingerprint` is the digest of the base, area and radius they were cut
    from: a provider whose digest differs (its change approved, an edit in the admin) is cut
    again before coverage is read, so the pieces are never stale.
    """

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    reach_m = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=32)
    piece = models.GeometryField(srid=4326, help_text="WGS-84, longitude/latitude as planar")

    class Meta:
        indexes = [models.Index(fields=["provider", "reach_m"], name="reach_provider")]
