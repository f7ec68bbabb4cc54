"""The district's oversight pages in a real browser, against the real stack: a district
administrator opens the district page from the top bar (the figures' cards and the two charts,
a service chosen changes the figures; the coverage card is loaded after the page), follows its
link to the coverage page, and the map draws the gap's grid cells (fetched from the grid API,
tiles unreachable: on the plain background) with a legend; all without breaking the
Content-Security-Policy."""

from playwright.sync_api import expect

from dispatch import services
from dispatch.models import ServiceType
from tests import factories as f
from tests.browser import django_side, screenshot


def test_the_district_page_and_the_coverage_map(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        admin = f.UserFactory(role="district_admin", district=district)
        # Four files, two of them at one address (a couple), the others a kilometre and more
        # away, and no provider: all four in every service's gap, in three cells.
        elders = [
            f.ElderFactory(district=district, location=f.offset(f.HOME, east_m, north_m))
            for east_m, north_m in [(0, 0), (0, 0), (1500, 0), (0, 2000)]
        ]
        for code in ("meal", "meal", "cleaning"):  # today's requests: two meals, a cleaning
            services.service_request_create(
                elder=elders[0],
                service_type=ServiceType.objects.get(code=code),
                channel="operator",
                caller=None,
            )
    page = console_page(admin)
    if page.locator("#sound-decline").is_visible():
        page.locator("#sound-decline").click()
    page.locator("nav [data-shortcut='4']").click()  # the top bar's "District"
    page.wait_for_url("**/console/district/")

    expect(page.locator('[data-figure="requests"]')).to_have_text("3")
    assert page.locator("svg.chart-svg").count() == 2
    assert page.locator("svg.chart-svg rect.bar-requests").count() >= 1
    expect(page.locator('#coverage-summary [data-figure="widest-gap"]')).to_have_text("4")

    page.locator("select[name=service_type]").select_option("meal")
    page.locator("form.district-filters button[type=submit]").click()
    page.wait_for_url("**service_type=meal**")
    expect(page.locator('[data-figure="requests"]')).to_have_text("2")

    page.locator("a[href='/console/district/coverage/']").click()
    page.wait_for_url("**/console/district/coverage/")
    coverage_map = page.locator("#coverage-map")
    expect(coverage_map).to_have_attribute("data-cells", "3")
    cells = coverage_map.locator("path.gap-cell")
    expect(cells).to_have_count(3)
    assert sorted(c.get_attribute("data-in-gap") for c in cells.all()) == ["1", "1", "2"]
    expect(coverage_map.locator("path.gap-shade-5")).to_have_count(1)  # the darkest: the most
    expect(page.locator("#coverage-legend li")).to_have_text(["1", "2"])
    expect(page.locator('[data-figure="in-gap"]')).to_have_text("4")
    screenshot(page, "district-coverage")
